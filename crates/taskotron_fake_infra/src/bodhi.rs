//! The Bodhi side: releases and updates from `infra.yaml`, served as
//! Bodhi's REST API (`/updates/`, `/updates/<alias>`, `/releases/`,
//! `/releases/<name>`), with Bodhi's filters, paging and error bodies.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::model::ModelError;

/// `bodhi:` in `infra.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodhiSpec {
    /// Releases.
    #[serde(default)]
    pub releases: Vec<ReleaseSpec>,
    /// Updates.
    #[serde(default)]
    pub updates: Vec<UpdateSpec>,
}

/// A release; everything but the name has Fedora's defaults (`F44` makes
/// branch `f44`, tags `f44`, `f44-updates`, `f44-updates-testing`, …).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseSpec {
    pub name: String,
    #[serde(default)]
    pub long_name: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub id_prefix: Option<String>,
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub dist_tag: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
}

/// An update.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateSpec {
    /// Default: `<id_prefix>-<year>-<10 hex digits>`, made up.
    #[serde(default)]
    pub alias: Option<String>,
    pub builds: Vec<String>,
    pub release: String,
    /// Default `testing`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub request: Option<String>,
    /// Default `bugfix`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Default `packager`.
    #[serde(default)]
    pub user: Option<String>,
    /// RFC 3339; default: when it was added.
    #[serde(default)]
    pub submitted: Option<String>,
    /// RFC 3339; default: never edited.
    #[serde(default)]
    pub modified: Option<String>,
    #[serde(default)]
    pub critpath: Option<bool>,
}

/// An edit of an update (the admin API's `edit`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateEdit {
    #[serde(default)]
    pub builds: Option<Vec<String>>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub request: Option<Option<String>>,
    /// Who edits it (for the messages); default: its submitter.
    #[serde(default)]
    pub agent: Option<String>,
}

/// What an update is now, for the messages an edit makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateState {
    /// Its builds' NVRs.
    pub builds: Vec<String>,
    /// Its status.
    pub status: String,
    /// Its request.
    pub request: Option<String>,
    /// Who submitted it.
    pub user: String,
}

#[derive(Debug, Clone)]
struct Release {
    id: i64,
    json: Json,
}

#[derive(Debug, Clone)]
struct Update {
    alias: String,
    builds: Vec<String>,
    release: String,
    status: String,
    request: Option<String>,
    kind: String,
    user: String,
    submitted: DateTime<Utc>,
    modified: Option<DateTime<Utc>>,
    testing: Option<DateTime<Utc>>,
    stable: Option<DateTime<Utc>>,
    critpath: bool,
}

/// Bodhi's state.
#[derive(Debug, Default)]
pub struct Bodhi {
    releases: Vec<Release>,
    updates: Vec<Update>,
}

const STATUSES: [&str; 7] = [
    "pending",
    "testing",
    "stable",
    "unpushed",
    "obsolete",
    "side_tag_active",
    "side_tag_expired",
];
const REQUESTS: [&str; 5] = ["testing", "stable", "obsolete", "unpush", "revoke"];

/// Bodhi's time format.
fn bodhi_time(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn rfc3339(what: &str, text: &str) -> Result<DateTime<Utc>, ModelError> {
    DateTime::parse_from_rfc3339(text)
        .map(|it| it.with_timezone(&Utc))
        .map_err(|err| {
            ModelError::Invalid(format!("{what}: {text:?} is not an RFC 3339 time: {err}"))
        })
}

impl Bodhi {
    /// The state `spec` describes.
    pub fn load(spec: &BodhiSpec) -> Result<Bodhi, ModelError> {
        let mut bodhi = Bodhi::default();
        for release in &spec.releases {
            bodhi.add_release(release)?;
        }
        for update in &spec.updates {
            bodhi.add_update(update)?;
        }
        Ok(bodhi)
    }

    /// Add a release unless one of that name exists; whether it was added.
    pub fn add_release_if_new(&mut self, spec: &ReleaseSpec) -> Result<bool, ModelError> {
        if self.release(&spec.name).is_some() {
            return Ok(false);
        }
        self.add_release(spec).map(|()| true)
    }

    /// Whether an update with this alias exists.
    #[must_use]
    pub fn has_update(&self, alias: &str) -> bool {
        self.updates.iter().any(|it| it.alias == alias)
    }

    /// What the update `alias` is now.
    #[must_use]
    pub fn update_state(&self, alias: &str) -> Option<UpdateState> {
        self.updates
            .iter()
            .find(|it| it.alias == alias)
            .map(|it| UpdateState {
                builds: it.builds.clone(),
                status: it.status.clone(),
                request: it.request.clone(),
                user: it.user.clone(),
            })
    }

    /// The update `alias` as Bodhi's messages carry it: the whole JSON of
    /// the REST API, its URL under `base`.
    #[must_use]
    pub fn update_message_json(&self, alias: &str, base: &str) -> Option<Json> {
        self.updates
            .iter()
            .find(|it| it.alias == alias)
            .map(|it| self.update_json(it, base))
    }

    fn add_release(&mut self, spec: &ReleaseSpec) -> Result<(), ModelError> {
        if self.release(&spec.name).is_some() {
            return Err(ModelError::Invalid(format!(
                "release {}: given twice",
                spec.name
            )));
        }
        let digits: String = spec.name.chars().filter(char::is_ascii_digit).collect();
        let epel = spec.name.to_ascii_uppercase().starts_with("EPEL");
        let branch = spec.branch.clone().unwrap_or_else(|| {
            if epel {
                format!("epel{digits}")
            } else {
                format!("f{digits}")
            }
        });
        let dist = spec.dist_tag.clone().unwrap_or_else(|| branch.clone());
        let id = i64::try_from(self.releases.len()).unwrap_or(0) + 1;
        self.releases.push(Release {
            id,
            json: json!({
                "name": spec.name,
                "long_name": spec.long_name.clone().unwrap_or_else(|| if epel { format!("Fedora EPEL {digits}") } else { format!("Fedora {digits}") }),
                "version": spec.version.clone().unwrap_or_else(|| digits.clone()),
                "id_prefix": spec.id_prefix.clone().unwrap_or_else(|| if epel { "FEDORA-EPEL".to_owned() } else { "FEDORA".to_owned() }),
                "branch": branch,
                "dist_tag": dist,
                "stable_tag": format!("{dist}-updates"),
                "testing_tag": format!("{dist}-updates-testing"),
                "candidate_tag": format!("{dist}-updates-candidate"),
                "pending_signing_tag": format!("{dist}-signing-pending"),
                "pending_testing_tag": format!("{dist}-updates-testing-pending"),
                "pending_stable_tag": format!("{dist}-updates-pending"),
                "override_tag": format!("{dist}-override"),
                "state": spec.state.clone().unwrap_or_else(|| "current".to_owned()),
                "composed_by_bodhi": true,
                "create_automatic_updates": false,
                "package_manager": "dnf",
                "testing_repository": "updates-testing",
                "mail_template": "fedora_errata_template",
            }),
        });
        Ok(())
    }

    fn release(&self, name: &str) -> Option<&Release> {
        self.releases.iter().find(|it| {
            it.json["name"]
                .as_str()
                .is_some_and(|it| it.eq_ignore_ascii_case(name))
        })
    }

    /// Add an update; its alias.
    pub fn add_update(&mut self, spec: &UpdateSpec) -> Result<String, ModelError> {
        let release = self.release(&spec.release).ok_or_else(|| {
            ModelError::Invalid(format!(
                "update of {:?}: no release {}",
                spec.builds, spec.release
            ))
        })?;
        let release_name = release.json["name"].as_str().unwrap_or_default().to_owned();
        let prefix = release.json["id_prefix"]
            .as_str()
            .unwrap_or("FEDORA")
            .to_owned();
        if spec.builds.is_empty() {
            return Err(ModelError::Invalid(
                "an update needs at least one build".to_owned(),
            ));
        }
        let status = spec.status.clone().unwrap_or_else(|| "testing".to_owned());
        if !STATUSES.contains(&status.as_str()) {
            return Err(ModelError::Invalid(format!(
                "update of {:?}: status {status:?} is not one of {}",
                spec.builds,
                STATUSES.join(", ")
            )));
        }
        if let Some(request) = &spec.request
            && !REQUESTS.contains(&request.as_str())
        {
            return Err(ModelError::Invalid(format!(
                "update of {:?}: request {request:?} is not one of {}",
                spec.builds,
                REQUESTS.join(", ")
            )));
        }
        let submitted = match &spec.submitted {
            Some(text) => rfc3339("submitted", text)?,
            None => Utc::now(),
        };
        let modified = spec
            .modified
            .as_deref()
            .map(|text| rfc3339("modified", text))
            .transpose()?;
        let alias = match &spec.alias {
            Some(alias) => alias.clone(),
            None => {
                let n = self.updates.len() + 1;
                format!(
                    "{prefix}-{}-{:010x}",
                    submitted.format("%Y"),
                    0x7a5c_0000_u64 + n as u64
                )
            }
        };
        if self.updates.iter().any(|it| it.alias == alias) {
            return Err(ModelError::Invalid(format!("update {alias}: given twice")));
        }
        self.updates.push(Update {
            alias: alias.clone(),
            builds: spec.builds.clone(),
            release: release_name,
            testing: (status != "pending").then_some(submitted),
            stable: (status == "stable").then_some(submitted),
            status,
            request: spec.request.clone(),
            kind: spec.kind.clone().unwrap_or_else(|| "bugfix".to_owned()),
            user: spec.user.clone().unwrap_or_else(|| "packager".to_owned()),
            submitted,
            modified,
            critpath: spec.critpath.unwrap_or(false),
        });
        Ok(alias)
    }

    /// Edit an update as Bodhi's `Update.edit()` does: a change of builds
    /// sets `date_modified`; status and request changes do not.
    pub fn edit(&mut self, alias: &str, edit: &UpdateEdit) -> Result<(), ModelError> {
        let update = self
            .updates
            .iter_mut()
            .find(|it| it.alias == alias)
            .ok_or_else(|| ModelError::Invalid(format!("no update {alias}")))?;
        if let Some(builds) = &edit.builds {
            if builds.is_empty() {
                return Err(ModelError::Invalid(
                    "an update needs at least one build".to_owned(),
                ));
            }
            update.builds.clone_from(builds);
            update.modified = Some(Utc::now());
        }
        if let Some(status) = &edit.status {
            if !STATUSES.contains(&status.as_str()) {
                return Err(ModelError::Invalid(format!(
                    "status {status:?} is not one of {}",
                    STATUSES.join(", ")
                )));
            }
            if status == "testing" && update.testing.is_none() {
                update.testing = Some(Utc::now());
            }
            if status == "stable" && update.stable.is_none() {
                update.stable = Some(Utc::now());
            }
            update.status.clone_from(status);
        }
        if let Some(request) = &edit.request {
            update.request.clone_from(request);
        }
        Ok(())
    }

    fn update_json(&self, update: &Update, base: &str) -> Json {
        let release = self
            .release(&update.release)
            .map_or(Json::Null, |it| it.json.clone());
        let release_id = self.release(&update.release).map_or(0, |it| it.id);
        let nvrs: Vec<&str> = update.builds.iter().map(String::as_str).collect();
        json!({
            "alias": update.alias,
            "title": update.builds.join(" "),
            "display_name": "",
            "status": update.status,
            "request": update.request,
            "type": update.kind,
            "severity": "unspecified",
            "suggest": "unspecified",
            "critpath": update.critpath,
            "critpath_groups": null,
            "content_type": "rpm",
            "locked": false,
            "pushed": update.status == "stable" || update.status == "testing",
            "autokarma": true,
            "stable_karma": 3,
            "unstable_karma": -3,
            "karma": 0,
            "builds": update.builds.iter().map(|nvr| json!({
                "nvr": nvr, "epoch": 0, "signed": true, "type": "rpm", "release_id": release_id,
            })).collect::<Vec<_>>(),
            "release": release,
            "user": {"name": update.user, "id": 1},
            "date_submitted": bodhi_time(&update.submitted),
            "date_modified": update.modified.as_ref().map(bodhi_time),
            "date_approved": null,
            "date_pushed": update.testing.as_ref().map(bodhi_time),
            "date_testing": update.testing.as_ref().map(bodhi_time),
            "date_stable": update.stable.as_ref().map(bodhi_time),
            "version_hash": taskotron_bodhi::version_hash(&nvrs),
            "test_gating_status": null,
            "from_tag": null,
            "bugs": [],
            "comments": [],
            "notes": "Served by taskotron fake-infra.",
            "url": format!("{base}updates/{}", update.alias),
        })
    }
}

/// A Bodhi error body and its status.
#[derive(Debug)]
pub struct BodhiFault {
    pub status: u16,
    pub body: Json,
}

fn fault(status: u16, location: &str, name: &str, description: String) -> BodhiFault {
    BodhiFault {
        status,
        body: json!({"status": "error", "errors": [{"location": location, "name": name, "description": description}]}),
    }
}

/// Query parameters: repeated ones and comma- or space-separated lists both
/// make lists, as Bodhi's schemas split them.
#[derive(Debug)]
pub struct Params(HashMap<String, Vec<String>>);

impl Params {
    /// From `key=value` pairs.
    pub fn new(pairs: Vec<(String, String)>) -> Params {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (key, value) in pairs {
            map.entry(key).or_default().push(value);
        }
        Params(map)
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.0
            .get(name)
            .into_iter()
            .flatten()
            .flat_map(|it| it.split([',', ' ']))
            .filter(|it| !it.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn one(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .and_then(|it| it.last())
            .map(String::as_str)
    }

    fn number(&self, name: &str, default: u32, max: u32) -> Result<u32, BodhiFault> {
        match self.one(name) {
            None => Ok(default),
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(fault(
                    400,
                    "querystring",
                    name,
                    format!("{text} is not between 1 and {max}"),
                )),
            },
        }
    }

    fn time(&self, name: &str) -> Result<Option<DateTime<Utc>>, BodhiFault> {
        let Some(text) = self.one(name) else {
            return Ok(None);
        };
        let parsed = DateTime::parse_from_rfc3339(text)
            .map(|it| it.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                    .iter()
                    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
                    .map(|it| it.and_utc())
            })
            .or_else(|| {
                chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .ok()
                    .and_then(|it| it.and_hms_opt(0, 0, 0))
                    .map(|it| it.and_utc())
            });
        parsed
            .map(Some)
            .ok_or_else(|| fault(400, "querystring", name, format!("Invalid date: {text:?}")))
    }
}

/// `GET /updates/`.
pub fn list_updates(bodhi: &Bodhi, params: &Params, base: &str) -> Result<Json, BodhiFault> {
    let rows = params.number("rows_per_page", 20, 1000)?;
    let page = params.number("page", 1, u32::MAX)?;
    let releases = params.list("releases");
    for release in &releases {
        if bodhi.release(release).is_none() {
            return Err(fault(
                400,
                "querystring",
                "releases",
                format!("Invalid releases specified: {release}"),
            ));
        }
    }
    let statuses = params.list("status");
    if let Some(bad) = statuses.iter().find(|it| !STATUSES.contains(&it.as_str())) {
        return Err(fault(
            400,
            "querystring",
            "status",
            format!("\"{bad}\" is not one of {}", STATUSES.join(", ")),
        ));
    }
    let builds = params.list("builds");
    let packages = params.list("packages");
    let aliases: Vec<String> = params
        .list("alias")
        .into_iter()
        .chain(params.list("updateid"))
        .collect();
    let user = params.one("user");
    let request = params.one("request");
    let kind = params.one("type");
    let submitted_since = params.time("submitted_since")?;
    let submitted_before = params.time("submitted_before")?;
    let modified_since = params.time("modified_since")?;
    let modified_before = params.time("modified_before")?;
    let mut matched: Vec<&Update> = bodhi
        .updates
        .iter()
        .filter(|it| {
            releases.is_empty()
                || releases
                    .iter()
                    .any(|name| name.eq_ignore_ascii_case(&it.release))
        })
        .filter(|it| statuses.is_empty() || statuses.contains(&it.status))
        .filter(|it| builds.is_empty() || it.builds.iter().any(|nvr| builds.contains(nvr)))
        .filter(|it| {
            packages.is_empty()
                || it.builds.iter().any(|nvr| {
                    crate::model::split_nvr(nvr)
                        .is_some_and(|(name, _, _)| packages.iter().any(|it| it == name))
                })
        })
        .filter(|it| aliases.is_empty() || aliases.contains(&it.alias))
        .filter(|it| user.is_none_or(|user| it.user == user))
        .filter(|it| request.is_none_or(|request| it.request.as_deref() == Some(request)))
        .filter(|it| kind.is_none_or(|kind| it.kind == kind))
        .filter(|it| submitted_since.is_none_or(|since| it.submitted >= since))
        .filter(|it| submitted_before.is_none_or(|before| it.submitted < before))
        .filter(|it| modified_since.is_none_or(|since| it.modified.is_some_and(|m| m >= since)))
        .filter(|it| modified_before.is_none_or(|before| it.modified.is_some_and(|m| m < before)))
        .collect();
    // Newest submitted first, as Bodhi orders them.
    matched.sort_by(|a, b| {
        b.submitted
            .cmp(&a.submitted)
            .then_with(|| b.alias.cmp(&a.alias))
    });
    let total = matched.len();
    let pages = total.div_ceil(rows as usize).max(1);
    let updates: Vec<Json> = matched
        .into_iter()
        .skip((page as usize - 1).saturating_mul(rows as usize))
        .take(rows as usize)
        .map(|it| bodhi.update_json(it, base))
        .collect();
    Ok(json!({
        "updates": updates,
        "page": page,
        "pages": pages,
        "rows_per_page": rows,
        "total": total,
    }))
}

/// `GET /updates/<alias>`.
pub fn get_update(bodhi: &Bodhi, alias: &str, base: &str) -> Result<Json, BodhiFault> {
    match bodhi.updates.iter().find(|it| it.alias == alias) {
        Some(update) => Ok(json!({"update": bodhi.update_json(update, base), "can_edit": false})),
        None => Err(fault(404, "url", "id", "Invalid update id".to_owned())),
    }
}

/// `GET /releases/`.
pub fn list_releases(bodhi: &Bodhi, params: &Params) -> Result<Json, BodhiFault> {
    let rows = params.number("rows_per_page", 20, 1000)?;
    let page = params.number("page", 1, u32::MAX)?;
    let name = params.one("name");
    let state = params.one("state");
    let matched: Vec<Json> = bodhi
        .releases
        .iter()
        .filter(|it| {
            name.is_none_or(|name| {
                it.json["name"]
                    .as_str()
                    .is_some_and(|it| it.eq_ignore_ascii_case(name))
            })
        })
        .filter(|it| state.is_none_or(|state| it.json["state"] == state))
        .map(|it| it.json.clone())
        .collect();
    let total = matched.len();
    let releases: Vec<Json> = matched
        .into_iter()
        .skip((page as usize - 1).saturating_mul(rows as usize))
        .take(rows as usize)
        .collect();
    Ok(json!({
        "releases": releases,
        "page": page,
        "pages": total.div_ceil(rows as usize).max(1),
        "rows_per_page": rows,
        "total": total,
    }))
}

/// `GET /releases/<name>`.
pub fn get_release(bodhi: &Bodhi, name: &str) -> Result<Json, BodhiFault> {
    bodhi
        .release(name)
        .map(|it| it.json.clone())
        .ok_or_else(|| fault(404, "url", "name", "No such release".to_owned()))
}
