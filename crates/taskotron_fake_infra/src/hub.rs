//! The Koji hub: XML-RPC calls answered from the [`Koji`] model, with
//! Koji's keyword arguments, faults and `multiCall`.

use dxr::{Fault, FaultResponse, MethodCall, MethodResponse};
use serde_json::{Map, Value as Json, json};
use taskotron_koji::FaultKind;
use taskotron_koji::value::{from_json, to_json};

use crate::model::{BuildRec, Koji, Listing, RpmRec};

/// A fault to answer with.
#[derive(Debug, Clone, PartialEq)]
pub struct HubFault {
    pub kind: FaultKind,
    pub message: String,
}

fn generic(message: impl Into<String>) -> HubFault {
    HubFault {
        kind: FaultKind::GenericError,
        message: message.into(),
    }
}

fn parameter(message: impl Into<String>) -> HubFault {
    HubFault {
        kind: FaultKind::ParameterError,
        message: message.into(),
    }
}

/// Answer an XML-RPC request body with an XML-RPC response body.
pub fn answer(koji: &Koji, body: &str) -> String {
    let result = match MethodCall::from_xml(body) {
        Ok(call) => {
            let params: Vec<Json> = call.params.iter().map(to_json).collect();
            dispatch(koji, &call.name, params)
        }
        Err(_) => Err(generic("the request is not an XML-RPC method call")),
    };
    let text = match result {
        Ok(value) => MethodResponse {
            value: from_json(&value),
        }
        .to_xml(),
        Err(fault) => FaultResponse {
            fault: Fault::new(fault.kind.code(), fault.message),
        }
        .to_xml(),
    };
    let text = text.unwrap_or_else(|err| {
        format!(
            "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1000</int></value></member>\
             <member><name>faultString</name><value><string>cannot encode the answer: {err}</string></value></member>\
             </struct></value></fault></methodResponse>"
        )
    });
    format!("<?xml version='1.0'?>\n{text}")
}

/// Positional and keyword arguments, as Koji's `decode_args` splits them.
struct Args {
    method: String,
    positional: Vec<Json>,
    keywords: Map<String, Json>,
}

impl Args {
    fn new(method: &str, mut params: Vec<Json>, names: &[&str]) -> Result<Args, HubFault> {
        let mut keywords = Map::new();
        if let Some(Json::Object(last)) = params.last()
            && last.get("__starstar") == Some(&Json::Bool(true))
        {
            keywords = last.clone();
            keywords.remove("__starstar");
            params.pop();
        }
        if params.len() > names.len() {
            return Err(parameter(format!(
                "{method}() takes at most {} positional arguments ({} given)",
                names.len(),
                params.len()
            )));
        }
        for key in keywords.keys() {
            if !names.contains(&key.as_str()) {
                return Err(parameter(format!(
                    "{method}() got an unexpected keyword argument '{key}'"
                )));
            }
        }
        for (idx, name) in names.iter().enumerate().take(params.len()) {
            if keywords.contains_key(*name) {
                return Err(parameter(format!(
                    "{method}() got multiple values for argument '{name}' (position {idx})"
                )));
            }
        }
        let mut args = Args {
            method: method.to_owned(),
            positional: params,
            keywords,
        };
        // Name the positional ones too.
        for (idx, name) in names.iter().enumerate() {
            if let Some(value) = args.positional.get(idx).cloned() {
                args.keywords.insert((*name).to_owned(), value);
            }
        }
        Ok(args)
    }

    fn get(&self, name: &str) -> Option<&Json> {
        self.keywords.get(name).filter(|it| !it.is_null())
    }

    fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|it| match it {
            Json::Bool(it) => *it,
            Json::Number(it) => it.as_i64() != Some(0),
            _ => true,
        })
    }

    fn int(&self, name: &str) -> Result<Option<i64>, HubFault> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => value.as_i64().map(Some).ok_or_else(|| {
                parameter(format!(
                    "{}: {name} must be an integer, not {value}",
                    self.method
                ))
            }),
        }
    }

    fn text(&self, name: &str) -> Result<Option<&str>, HubFault> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => value.as_str().map(Some).ok_or_else(|| {
                parameter(format!(
                    "{}: {name} must be a string, not {value}",
                    self.method
                ))
            }),
        }
    }

    /// A time: seconds since the epoch, or Koji's `YYYY-MM-DD HH:MM:SS`.
    fn time(&self, name: &str) -> Result<Option<f64>, HubFault> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Number(number)) => Ok(number.as_f64()),
            Some(Json::String(text)) => {
                let parsed = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                    .or_else(|_| {
                        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                            .map(|it| it.and_hms_opt(0, 0, 0).unwrap_or_default())
                    })
                    .map_err(|_| {
                        parameter(format!(
                            "{}: {name} {text:?} is not a time (YYYY-MM-DD HH:MM:SS)",
                            self.method
                        ))
                    })?;
                Ok(Some(parsed.and_utc().timestamp_micros() as f64 / 1e6))
            }
            Some(other) => Err(parameter(format!(
                "{}: {name} must be a time, not {other}",
                self.method
            ))),
        }
    }
}

/// Run one method.
pub fn dispatch(koji: &Koji, method: &str, params: Vec<Json>) -> Result<Json, HubFault> {
    match method {
        "getAPIVersion" => Ok(json!(1)),
        "getKojiVersion" => Ok(json!("1.35.0")),
        "hello" => Ok(json!("Hello World")),
        "getLastEvent" => {
            Args::new(method, params, &["before", "strict"])?;
            let (id, ts) = koji.events.last().copied().unwrap_or((1000, 0.0));
            Ok(json!({"id": id, "ts": ts}))
        }
        "getBuild" => get_build(koji, &Args::new(method, params, &["buildInfo", "strict"])?),
        "listBuilds" => list_builds(
            koji,
            &Args::new(
                method,
                params,
                &[
                    "packageID",
                    "userID",
                    "taskID",
                    "prefix",
                    "state",
                    "volumeID",
                    "source",
                    "createdBefore",
                    "createdAfter",
                    "completeBefore",
                    "completeAfter",
                    "type",
                    "typeInfo",
                    "queryOpts",
                    "pattern",
                    "cgID",
                    "draft",
                ],
            )?,
        ),
        "listTagged" => list_tagged(
            koji,
            &Args::new(
                method,
                params,
                &[
                    "tag", "event", "inherit", "prefix", "latest", "package", "owner", "type",
                    "strict", "extra", "draft",
                ],
            )?,
            false,
        ),
        "getLatestBuilds" => list_tagged(
            koji,
            &Args::new(
                method,
                params,
                &["tag", "event", "package", "type", "draft"],
            )?,
            true,
        ),
        "queryHistory" => query_history(
            koji,
            &Args::new(
                method,
                params,
                &[
                    "tables",
                    "tag",
                    "build",
                    "package",
                    "afterEvent",
                    "beforeEvent",
                    "after",
                    "before",
                    "active",
                    "editor",
                    "queryOpts",
                ],
            )?,
        ),
        "listRPMs" => list_rpms(
            koji,
            &Args::new(
                method,
                params,
                &[
                    "buildID",
                    "buildrootID",
                    "imageID",
                    "componentBuildrootID",
                    "hostID",
                    "arches",
                    "queryOpts",
                    "draft",
                ],
            )?,
        ),
        "getTaskInfo" => get_task_info(
            koji,
            &Args::new(method, params, &["task_id", "request", "strict"])?,
        ),
        "multiCall" | "system.multicall" => multicall(koji, method, params),
        other => Err(generic(format!("Invalid method: {other}"))),
    }
}

fn multicall(koji: &Koji, method: &str, params: Vec<Json>) -> Result<Json, HubFault> {
    let args = Args::new(method, params, &["calls", "strict"])?;
    let Some(Json::Array(calls)) = args.get("calls") else {
        return Err(parameter(format!("{method}: calls must be an array")));
    };
    let mut answers = Vec::with_capacity(calls.len());
    for call in calls {
        let name = call.get("methodName").and_then(Json::as_str);
        let params = call.get("params").and_then(Json::as_array);
        let result = match (name, params) {
            (Some("multiCall" | "system.multicall"), _) => {
                Err(generic("multiCall cannot be nested"))
            }
            (Some(name), Some(params)) => dispatch(koji, name, params.clone()),
            _ => Err(parameter("each call needs methodName and params")),
        };
        answers.push(match result {
            Ok(value) => json!([value]),
            Err(fault) => json!({"faultCode": fault.kind.code(), "faultString": fault.message}),
        });
    }
    Ok(Json::Array(answers))
}

/// Koji's text form of a time: `2026-11-20 10:20:00.123456+00:00`.
fn koji_time(ts: f64) -> String {
    let micros = (ts * 1e6).round() as i64;
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|it| it.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string())
        .unwrap_or_default()
}

fn build_json(koji: &Koji, build: &BuildRec) -> Json {
    json!({
        "id": build.id,
        "build_id": build.id,
        "package_id": build.package_id,
        "package_name": build.name,
        "name": build.name,
        "version": build.version,
        "release": build.release,
        "epoch": build.epoch,
        "nvr": build.nvr(),
        "state": build.state,
        "task_id": build.task_id,
        "owner_id": koji.known_user_id(&build.owner),
        "owner_name": build.owner,
        "volume_id": 0,
        "volume_name": build.volume,
        "creation_event_id": build.creation_event,
        "creation_time": koji_time(build.creation_ts),
        "creation_ts": build.creation_ts,
        "start_time": koji_time(build.creation_ts),
        "start_ts": build.creation_ts,
        "completion_time": build.completion_ts.map(koji_time),
        "completion_ts": build.completion_ts,
        "source": build.source,
        "extra": null,
        "draft": false,
        "promoter_id": null,
        "promoter_name": null,
        "promotion_time": null,
        "promotion_ts": null,
        "cg_id": null,
        "cg_name": null,
    })
}

fn find_build<'a>(koji: &'a Koji, info: &Json) -> Result<Option<&'a BuildRec>, HubFault> {
    Ok(match info {
        Json::Number(id) => id.as_i64().and_then(|id| koji.build(id)),
        Json::String(text) => match text.parse::<i64>() {
            Ok(id) => koji.build(id),
            Err(_) => koji.build_by_nvr(text),
        },
        Json::Object(fields) => {
            let field = |name: &str| fields.get(name).and_then(Json::as_str).unwrap_or_default();
            koji.build_by_nvr(&format!(
                "{}-{}-{}",
                field("name"),
                field("version"),
                field("release")
            ))
        }
        other => return Err(parameter(format!("invalid build info: {other}"))),
    })
}

fn get_build(koji: &Koji, args: &Args) -> Result<Json, HubFault> {
    let info = args
        .get("buildInfo")
        .ok_or_else(|| parameter("getBuild() missing required argument: 'buildInfo'"))?;
    match find_build(koji, info)? {
        Some(build) => Ok(build_json(koji, build)),
        None if args.flag("strict") => Err(generic(format!("No such build: {info}"))),
        None => Ok(Json::Null),
    }
}

/// `queryOpts`: order, offset, limit, countOnly.
fn apply_query_opts(
    args: &Args,
    mut rows: Vec<Json>,
    default_order: &str,
) -> Result<Json, HubFault> {
    let opts = match args.get("queryOpts") {
        None => Map::new(),
        Some(Json::Object(opts)) => opts.clone(),
        Some(other) => {
            return Err(parameter(format!(
                "queryOpts must be a struct, not {other}"
            )));
        }
    };
    let order = opts
        .get("order")
        .and_then(Json::as_str)
        .unwrap_or(default_order)
        .to_owned();
    let (descending, key) = match order.strip_prefix('-') {
        Some(key) => (true, key.to_owned()),
        None => (false, order.clone()),
    };
    if let Some(first) = rows.first()
        && first.get(&key).is_none()
    {
        return Err(generic(format!("Invalid order field: {key}")));
    }
    rows.sort_by(|a, b| {
        let ordering = compare(&a[&key], &b[&key]);
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
    if opts
        .get("countOnly")
        .is_some_and(|it| it == &Json::Bool(true))
    {
        return Ok(json!(rows.len()));
    }
    let offset = opts.get("offset").and_then(Json::as_u64).unwrap_or(0);
    let rows = rows
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX));
    Ok(Json::Array(
        match opts.get("limit").and_then(Json::as_u64) {
            Some(limit) => rows
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .collect(),
            None => rows.collect(),
        },
    ))
}

fn compare(a: &Json, b: &Json) -> std::cmp::Ordering {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(std::cmp::Ordering::Equal),
        (Json::String(x), Json::String(y)) => x.cmp(y),
        (Json::Null, Json::Null) => std::cmp::Ordering::Equal,
        (Json::Null, _) => std::cmp::Ordering::Less,
        (_, Json::Null) => std::cmp::Ordering::Greater,
        _ => std::cmp::Ordering::Equal,
    }
}

fn list_builds(koji: &Koji, args: &Args) -> Result<Json, HubFault> {
    let state = args.int("state")?;
    let package = args.int("packageID")?;
    let task = args.int("taskID")?;
    let prefix = args.text("prefix")?;
    let complete_after = args.time("completeAfter")?;
    let complete_before = args.time("completeBefore")?;
    let created_after = args.time("createdAfter")?;
    let created_before = args.time("createdBefore")?;
    let user = match args.get("userID") {
        None => None,
        Some(Json::String(name)) => Some(koji.known_user_id(name).unwrap_or(-1)),
        Some(value) => Some(
            value
                .as_i64()
                .ok_or_else(|| parameter("userID must be an id or a name"))?,
        ),
    };
    let rows = koji
        .builds
        .iter()
        .filter(|it| state.is_none_or(|state| it.state == state))
        .filter(|it| package.is_none_or(|package| it.package_id == package))
        .filter(|it| task.is_none_or(|task| it.task_id == Some(task)))
        .filter(|it| prefix.is_none_or(|prefix| it.name.starts_with(prefix)))
        .filter(|it| user.is_none_or(|user| koji.known_user_id(&it.owner) == Some(user)))
        // Koji compares strictly; a build without a completion time matches
        // no completion bound.
        .filter(|it| {
            complete_after.is_none_or(|after| it.completion_ts.is_some_and(|ts| ts > after))
        })
        .filter(|it| {
            complete_before.is_none_or(|before| it.completion_ts.is_some_and(|ts| ts < before))
        })
        .filter(|it| created_after.is_none_or(|after| it.creation_ts > after))
        .filter(|it| created_before.is_none_or(|before| it.creation_ts < before))
        .map(|it| build_json(koji, it))
        .collect();
    apply_query_opts(args, rows, "id")
}

/// Whether a listing is in effect at `event` (now when none).
fn active_at(listing: &Listing, event: Option<i64>) -> bool {
    match event {
        None => listing.revoke_event.is_none(),
        Some(event) => {
            listing.create_event <= event
                && listing.revoke_event.is_none_or(|revoke| revoke > event)
        }
    }
}

fn list_tagged(koji: &Koji, args: &Args, latest_only: bool) -> Result<Json, HubFault> {
    let tag = args.get("tag").ok_or_else(|| {
        parameter(format!(
            "{}() missing required argument: 'tag'",
            args.method
        ))
    })?;
    let tag_id = match tag {
        Json::Number(id) => id.as_i64().filter(|id| koji.tags.contains_key(id)),
        Json::String(name) => koji.tag_by_name(name),
        _ => None,
    }
    .ok_or_else(|| generic(format!("No such entry in table tag: {tag}")))?;
    let event = args.int("event")?;
    let package = args.text("package")?;
    let prefix = args.text("prefix")?;
    let owner = args.text("owner")?;
    let latest = latest_only || args.flag("latest");
    let mut listings: Vec<&Listing> = koji
        .listings
        .iter()
        .filter(|it| it.tag_id == tag_id && active_at(it, event))
        .collect();
    // Newest tagging first, as Koji orders them.
    listings.sort_by_key(|it| std::cmp::Reverse(it.create_event));
    let mut seen_packages: Vec<&str> = Vec::new();
    let mut rows = Vec::new();
    for listing in listings {
        let Some(build) = koji.build(listing.build_id) else {
            continue;
        };
        if package.is_some_and(|package| build.name != package)
            || prefix.is_some_and(|prefix| !build.name.starts_with(prefix))
            || owner.is_some_and(|owner| build.owner != owner)
        {
            continue;
        }
        if latest {
            if seen_packages.contains(&build.name.as_str()) {
                continue;
            }
            seen_packages.push(&build.name);
        }
        let mut row = build_json(koji, build);
        if let Json::Object(fields) = &mut row {
            fields.insert("tag_id".to_owned(), json!(tag_id));
            fields.insert("tag_name".to_owned(), json!(koji.tags[&tag_id]));
        }
        rows.push(row);
    }
    Ok(Json::Array(rows))
}

fn query_history(koji: &Koji, args: &Args) -> Result<Json, HubFault> {
    if let Some(tables) = args.get("tables") {
        let tables: Vec<&str> = match tables {
            Json::Array(items) => items.iter().filter_map(Json::as_str).collect(),
            Json::String(one) => vec![one.as_str()],
            other => return Err(parameter(format!("tables must be a list, not {other}"))),
        };
        if let Some(unknown) = tables.iter().find(|it| **it != "tag_listing") {
            return Err(generic(format!("No such history table: {unknown}")));
        }
    }
    let tag = match args.get("tag") {
        None => None,
        Some(Json::Number(id)) => id.as_i64(),
        Some(Json::String(name)) => Some(koji.tag_by_name(name).unwrap_or(-1)),
        Some(other) => return Err(parameter(format!("invalid tag: {other}"))),
    };
    let build = match args.get("build") {
        None => None,
        Some(info) => Some(find_build(koji, info)?.map_or(-1, |it| it.id)),
    };
    let after = args.int("afterEvent")?;
    let before = args.int("beforeEvent")?;
    let active = args.get("active").map(|_| args.flag("active"));
    let mut rows = Vec::new();
    for listing in &koji.listings {
        if tag.is_some_and(|tag| listing.tag_id != tag)
            || build.is_some_and(|build| listing.build_id != build)
            || active.is_some_and(|active| active != listing.revoke_event.is_none())
        {
            continue;
        }
        let created_after = after.is_some_and(|after| listing.create_event > after);
        let revoked_after =
            after.is_some_and(|after| listing.revoke_event.is_some_and(|it| it > after));
        if after.is_some() && !created_after && !revoked_after {
            continue;
        }
        if before.is_some_and(|before| listing.create_event >= before) {
            continue;
        }
        let Some(rec) = koji.build(listing.build_id) else {
            continue;
        };
        let mut row = json!({
            "build_id": listing.build_id,
            "tag_id": listing.tag_id,
            "tag.name": koji.tags[&listing.tag_id],
            "name": rec.name,
            "version": rec.version,
            "release": rec.release,
            "epoch": rec.epoch,
            "build.state": rec.state,
            "package.name": rec.name,
            "create_event": listing.create_event,
            "create_ts": listing.create_ts,
            "creator_id": koji.known_user_id(&listing.creator),
            "creator_name": listing.creator,
            "revoke_event": listing.revoke_event,
            "revoke_ts": listing.revoke_ts,
            "revoker_id": listing.revoker.as_deref().and_then(|it| koji.known_user_id(it)),
            "revoker_name": listing.revoker,
            "active": if listing.revoke_event.is_none() { json!(true) } else { Json::Null },
        });
        if let (Some(_), Json::Object(fields)) = (after, &mut row) {
            fields.insert("_created_after_event".to_owned(), json!(created_after));
            fields.insert("_revoked_after_event".to_owned(), json!(revoked_after));
        }
        rows.push(row);
    }
    rows.sort_by_key(|it| it["create_event"].as_i64());
    Ok(json!({"tag_listing": rows}))
}

fn rpm_json(rpm: &RpmRec) -> Json {
    json!({
        "id": rpm.id,
        "build_id": rpm.build_id,
        "name": rpm.name,
        "version": rpm.version,
        "release": rpm.release,
        "epoch": rpm.epoch,
        "arch": rpm.arch,
        "nvr": format!("{}-{}-{}", rpm.name, rpm.version, rpm.release),
        "payloadhash": rpm.payloadhash,
        "size": rpm.size,
        "buildtime": rpm.buildtime,
        "buildroot_id": null,
        "external_repo_id": 0,
        "external_repo_name": "INTERNAL",
        "metadata_only": false,
        "extra": null,
        "draft": false,
    })
}

fn list_rpms(koji: &Koji, args: &Args) -> Result<Json, HubFault> {
    let build = args.int("buildID")?;
    let arches: Option<Vec<String>> = match args.get("arches") {
        None => None,
        Some(Json::String(one)) => Some(vec![one.clone()]),
        Some(Json::Array(items)) => Some(
            items
                .iter()
                .map(|it| it.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| parameter("arches must be strings"))?,
        ),
        Some(other) => return Err(parameter(format!("arches must be a list, not {other}"))),
    };
    let rows = koji
        .rpms
        .iter()
        .filter(|it| build.is_none_or(|build| it.build_id == build))
        .filter(|it| {
            arches
                .as_ref()
                .is_none_or(|arches| arches.contains(&it.arch))
        })
        .map(rpm_json)
        .collect();
    apply_query_opts(args, rows, "id")
}

fn get_task_info(koji: &Koji, args: &Args) -> Result<Json, HubFault> {
    let task = args
        .int("task_id")?
        .ok_or_else(|| parameter("getTaskInfo() missing required argument: 'task_id'"))?;
    let Some(build) = koji.builds.iter().find(|it| it.task_id == Some(task)) else {
        return if args.flag("strict") {
            Err(generic(format!("No such task: {task}")))
        } else {
            Ok(Json::Null)
        };
    };
    let state = match build.state {
        1 => 2,
        3 => 5,
        4 => 3,
        _ => 1,
    };
    let mut info = json!({
        "id": task,
        "state": state,
        "method": "build",
        "arch": "noarch",
        "label": null,
        "parent": null,
        "owner": koji.known_user_id(&build.owner),
        "host_id": 1,
        "channel_id": 1,
        "priority": 20,
        "weight": 0.2,
        "waiting": false,
        "awaited": null,
        "create_time": koji_time(build.creation_ts),
        "create_ts": build.creation_ts,
        "start_time": koji_time(build.creation_ts),
        "start_ts": build.creation_ts,
        "completion_time": build.completion_ts.map(koji_time),
        "completion_ts": build.completion_ts,
    });
    if args.flag("request")
        && let Json::Object(fields) = &mut info
    {
        let source = build.source.clone().unwrap_or_else(|| {
            format!(
                "git+https://src.fedoraproject.org/rpms/{}.git#{}",
                build.name, build.release
            )
        });
        fields.insert("request".to_owned(), json!([source, "rawhide", {}]));
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BuildSpec;

    fn koji() -> Koji {
        let tmp = tempfile::tempdir().unwrap();
        let mut koji = Koji::load(tmp.path()).unwrap();
        for (nvr, tags, state) in [
            ("foo-1.0-1.fc44", vec!["f44"], None),
            ("foo-1.1-1.fc44", vec!["f44"], None),
            ("bar-2-1.fc44", vec!["f44", "f44-updates-candidate"], None),
            ("baz-3-1.fc44", vec![], Some("failed")),
        ] {
            koji.add_build(&BuildSpec {
                nvr: nvr.to_owned(),
                epoch: None,
                owner: Some("alice".to_owned()),
                state: state.map(str::to_owned),
                completed: None,
                task_id: None,
                tags: tags.into_iter().map(str::to_owned).collect(),
                volume: None,
                source: None,
            })
            .unwrap();
        }
        koji
    }

    fn call(koji: &Koji, method: &str, params: Json) -> Result<Json, HubFault> {
        let Json::Array(params) = params else {
            panic!()
        };
        dispatch(koji, method, params)
    }

    #[test]
    fn builds_by_id_nvr_and_filters() {
        let koji = koji();
        let foo = call(&koji, "getBuild", json!(["foo-1.0-1.fc44"])).unwrap();
        assert_eq!(foo["name"], "foo");
        assert_eq!(
            call(&koji, "getBuild", json!([foo["id"]])).unwrap()["nvr"],
            "foo-1.0-1.fc44"
        );
        assert_eq!(
            call(&koji, "getBuild", json!(["nope-1-1"])).unwrap(),
            Json::Null
        );
        let strict = call(&koji, "getBuild", json!(["nope-1-1", true])).unwrap_err();
        assert_eq!(strict.kind, FaultKind::GenericError);
        let complete = call(
            &koji,
            "listBuilds",
            json!([{"state": 1, "queryOpts": {"order": "-id", "limit": 2}, "__starstar": true}]),
        )
        .unwrap();
        let nvrs: Vec<&str> = complete
            .as_array()
            .unwrap()
            .iter()
            .map(|it| it["nvr"].as_str().unwrap())
            .collect();
        assert_eq!(nvrs, ["bar-2-1.fc44", "foo-1.1-1.fc44"]);
        let count = call(
            &koji,
            "listBuilds",
            json!([{"queryOpts": {"countOnly": true}, "__starstar": true}]),
        );
        assert_eq!(count.unwrap(), json!(4));
        let bad = call(
            &koji,
            "listBuilds",
            json!([{"colour": 1, "__starstar": true}]),
        )
        .unwrap_err();
        assert_eq!(bad.kind, FaultKind::ParameterError);
        assert!(bad.message.contains("colour"), "{}", bad.message);
    }

    #[test]
    fn tags_latest_and_history() {
        let mut koji = koji();
        let latest = call(&koji, "getLatestBuilds", json!(["f44"])).unwrap();
        let mut nvrs: Vec<&str> = latest
            .as_array()
            .unwrap()
            .iter()
            .map(|it| it["nvr"].as_str().unwrap())
            .collect();
        nvrs.sort_unstable();
        assert_eq!(nvrs, ["bar-2-1.fc44", "foo-1.1-1.fc44"]);
        let all = call(&koji, "listTagged", json!(["f44"])).unwrap();
        assert_eq!(all.as_array().unwrap().len(), 3);
        assert_eq!(all[0]["tag_name"], "f44");
        let missing = call(&koji, "listTagged", json!(["f99"])).unwrap_err();
        assert_eq!(missing.kind, FaultKind::GenericError);
        let before = call(&koji, "getLastEvent", json!([])).unwrap()["id"]
            .as_i64()
            .unwrap();
        let bar = koji.build_by_nvr("bar-2-1.fc44").unwrap().id;
        koji.untag(bar, "f44", "bodhi").unwrap();
        let history = call(
            &koji,
            "queryHistory",
            json!([{"tables": ["tag_listing"], "afterEvent": before, "__starstar": true}]),
        )
        .unwrap();
        let rows = history["tag_listing"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["tag.name"], "f44");
        assert_eq!(rows[0]["_revoked_after_event"], true);
        assert_eq!(rows[0]["revoker_name"], "bodhi");
        // As the tag was before the untagging.
        let then = call(&koji, "listTagged", json!(["f44", before])).unwrap();
        assert_eq!(then.as_array().unwrap().len(), 3);
    }

    #[test]
    fn multicall_answers_each_call() {
        let koji = koji();
        let answers = call(
            &koji,
            "multiCall",
            json!([[
                {"methodName": "getBuild", "params": ["foo-1.0-1.fc44"]},
                {"methodName": "noSuchMethod", "params": []},
            ]]),
        )
        .unwrap();
        assert_eq!(answers[0][0]["nvr"], "foo-1.0-1.fc44");
        assert_eq!(answers[1]["faultCode"], 1000);
        let text = answer(&koji, "not xml");
        assert!(text.contains("<fault>"), "{text}");
    }
}
