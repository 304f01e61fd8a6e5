//! The hub client: XML-RPC over HTTP(S), Koji's keyword arguments, faults,
//! `multiCall`, and retries with backoff where retrying can help.

use std::time::Duration;

use dxr::{FaultResponse, MethodCall, MethodResponse, Value as Xml};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};

use taskotron_net::{Retry, snippet};

use crate::error::{FaultKind, KojiError, KojiFault};
use crate::types::{Build, BuildState, Event, Rpm, TagListing, TaskInfo};
use crate::value::{from_json, to_json};

/// One call: a method, positional arguments and Koji keyword arguments
/// (sent as a last struct with `__starstar: true`).
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    method: String,
    args: Vec<Json>,
    kwargs: Map<String, Json>,
}

impl Call {
    /// A call of `method` without arguments.
    pub fn new(method: impl Into<String>) -> Call {
        Call {
            method: method.into(),
            args: Vec::new(),
            kwargs: Map::new(),
        }
    }

    /// Add a positional argument.
    #[must_use]
    pub fn arg(mut self, value: impl Into<Json>) -> Call {
        self.args.push(value.into());
        self
    }

    /// Add a keyword argument.
    #[must_use]
    pub fn kwarg(mut self, name: &str, value: impl Into<Json>) -> Call {
        self.kwargs.insert(name.to_owned(), value.into());
        self
    }

    /// The method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The XML-RPC parameters, as Koji's `encode_args` makes them.
    pub fn params(&self) -> Vec<Xml> {
        let mut params: Vec<Xml> = self.args.iter().map(from_json).collect();
        if !self.kwargs.is_empty() {
            let mut kwargs = self.kwargs.clone();
            kwargs.insert("__starstar".to_owned(), Json::Bool(true));
            params.push(from_json(&Json::Object(kwargs)));
        }
        params
    }
}

/// A build by id or by `name-version-release`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildRef {
    /// Its id.
    Id(i64),
    /// Its NVR.
    Nvr(String),
}

impl From<&BuildRef> for Json {
    fn from(value: &BuildRef) -> Json {
        match value {
            BuildRef::Id(id) => Json::from(*id),
            BuildRef::Nvr(nvr) => Json::from(nvr.as_str()),
        }
    }
}

/// `listBuilds` filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListBuilds {
    /// Only builds in this state.
    pub state: Option<BuildState>,
    /// Completed strictly after this time (seconds since the epoch).
    pub complete_after: Option<f64>,
    /// Completed before this time.
    pub complete_before: Option<f64>,
    /// Only this package's builds (its id).
    pub package_id: Option<i64>,
    /// Sort key (`completion_time`; `-` in front sorts descending).
    pub order: Option<String>,
    /// At most this many.
    pub limit: Option<i64>,
    /// Skip this many.
    pub offset: Option<i64>,
}

/// `listTagged` options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListTagged {
    /// Only the latest build of each package.
    pub latest: bool,
    /// Only this package's builds.
    pub package: Option<String>,
    /// Include inherited tags.
    pub inherit: bool,
    /// As the tag was at this event.
    pub event: Option<i64>,
}

/// `queryHistory(tables=['tag_listing'])` filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagHistory {
    /// Only this tag.
    pub tag: Option<String>,
    /// Only this build.
    pub build: Option<String>,
    /// Changes after this event.
    pub after_event: Option<i64>,
    /// Changes before this event.
    pub before_event: Option<i64>,
}

/// A Koji hub.
#[derive(Debug, Clone)]
pub struct KojiClient {
    url: String,
    http: reqwest::Client,
    retry: Retry,
}

/// The User-Agent Koji's own client sends (some hubs log it).
const USER_AGENT: &str = concat!("koji/1 taskotron/", env!("CARGO_PKG_VERSION"));

impl KojiClient {
    /// A client of the hub at `url` (`https://koji.fedoraproject.org/kojihub`).
    pub fn new(url: &str) -> Result<KojiClient, KojiError> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|err| KojiError::BadUrl {
                url: url.to_owned(),
                why: format!("cannot make an HTTP client: {err}"),
            })?;
        KojiClient::with_http(url, http)
    }

    /// A client of the hub at `url` that sends through `http`.
    pub fn with_http(url: &str, http: reqwest::Client) -> Result<KojiClient, KojiError> {
        let parsed = reqwest::Url::parse(url).map_err(|err| KojiError::BadUrl {
            url: url.to_owned(),
            why: err.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(KojiError::BadUrl {
                url: url.to_owned(),
                why: "only http and https are supported".to_owned(),
            });
        }
        Ok(KojiClient {
            url: url.to_owned(),
            http,
            retry: Retry::default(),
        })
    }

    /// Use this retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: Retry) -> KojiClient {
        self.retry = retry;
        self
    }

    /// The hub's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Make a call (retrying as the policy says) and return its result.
    pub async fn call(&self, call: &Call) -> Result<Json, KojiError> {
        let params = call.params();
        self.retry
            .run(call.method(), || {
                self.call_once(call.method(), params.clone())
            })
            .await
    }

    /// Make a call and decode its result.
    pub async fn call_as<T: DeserializeOwned>(&self, call: &Call) -> Result<T, KojiError> {
        let value = self.call(call).await?;
        self.decode(call.method(), value)
    }

    /// Several calls in one request (`multiCall`): one result or fault per
    /// call, in order. The hub runs each in its own savepoint.
    pub async fn multicall(
        &self,
        calls: &[Call],
    ) -> Result<Vec<Result<Json, KojiFault>>, KojiError> {
        let list: Vec<Json> = calls
            .iter()
            .map(|call| {
                let params: Vec<Json> = call.params().iter().map(to_json).collect();
                serde_json::json!({"methodName": call.method(), "params": params})
            })
            .collect();
        let multicall = Call::new("multiCall").arg(Json::Array(list));
        let answers = match self.call(&multicall).await? {
            Json::Array(answers) => answers,
            other => {
                return Err(self.unexpected(
                    "multiCall",
                    format!("expected an array, got {}", kind_of(&other)),
                ));
            }
        };
        if answers.len() != calls.len() {
            return Err(self.unexpected(
                "multiCall",
                format!("{} answers for {} calls", answers.len(), calls.len()),
            ));
        }
        answers
            .into_iter()
            .zip(calls)
            .map(|(answer, call)| match answer {
                Json::Array(mut one) if one.len() == 1 => Ok(Ok(one.remove(0))),
                Json::Object(fault) => {
                    let code = fault.get("faultCode").and_then(Json::as_i64);
                    let message = fault.get("faultString").and_then(Json::as_str);
                    match (code, message) {
                        (Some(code), Some(message)) => Ok(Err(KojiFault {
                            kind: FaultKind::from_code(i32::try_from(code).unwrap_or(i32::MAX)),
                            message: message.to_owned(),
                        })),
                        _ => Err(self.unexpected(
                            "multiCall",
                            format!(
                                "the answer to {} is a struct without faultCode and faultString",
                                call.method()
                            ),
                        )),
                    }
                }
                other => Err(self.unexpected(
                    "multiCall",
                    format!(
                        "the answer to {} is {}, neither [result] nor a fault",
                        call.method(),
                        kind_of(&other)
                    ),
                )),
            })
            .collect()
    }

    async fn call_once(&self, method: &str, params: Vec<Xml>) -> Result<Json, KojiError> {
        let body = MethodCall {
            name: method.into(),
            params,
        }
        .to_xml()
        .map_err(|err| self.unexpected(method, format!("cannot encode the call: {err}")))?;
        let transport = |source| KojiError::Transport {
            url: self.url.clone(),
            method: method.to_owned(),
            source,
        };
        let response = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml")
            .body(format!("<?xml version=\"1.0\"?>\n{body}"))
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let text = response.text().await.map_err(transport)?;
        if !status.is_success() {
            return Err(KojiError::Http {
                url: self.url.clone(),
                method: method.to_owned(),
                status: status.as_u16(),
                snippet: snippet(&text),
            });
        }
        decode_response(&text).map_err(|result| match result {
            Decoded::Fault(fault) => KojiError::Fault {
                url: self.url.clone(),
                method: method.to_owned(),
                fault,
            },
            Decoded::Malformed(what) => KojiError::Malformed {
                url: self.url.clone(),
                method: method.to_owned(),
                what,
            },
        })
    }

    fn decode<T: DeserializeOwned>(&self, method: &str, value: Json) -> Result<T, KojiError> {
        serde_json::from_value(value).map_err(|err| self.unexpected(method, err.to_string()))
    }

    fn unexpected(&self, method: &str, what: String) -> KojiError {
        KojiError::Unexpected {
            url: self.url.clone(),
            method: method.to_owned(),
            what,
        }
    }

    /// `getBuild(build, strict=False)`: the build, or `None` when there is none.
    pub async fn get_build(&self, build: &BuildRef) -> Result<Option<Build>, KojiError> {
        self.call_as(&Call::new("getBuild").arg(build)).await
    }

    /// Several builds in one `multiCall`, in order; a fault for one build
    /// does not fail the others.
    pub async fn get_builds(
        &self,
        builds: &[BuildRef],
    ) -> Result<Vec<Result<Option<Build>, KojiFault>>, KojiError> {
        let calls: Vec<Call> = builds
            .iter()
            .map(|it| Call::new("getBuild").arg(it))
            .collect();
        self.multicall(&calls)
            .await?
            .into_iter()
            .map(|answer| match answer {
                Ok(value) => self.decode("getBuild", value).map(Ok),
                Err(fault) => Ok(Err(fault)),
            })
            .collect()
    }

    /// `listBuilds` with these filters.
    pub async fn list_builds(&self, query: &ListBuilds) -> Result<Vec<Build>, KojiError> {
        let mut call = Call::new("listBuilds");
        if let Some(state) = query.state {
            call = call.kwarg("state", state.code());
        }
        if let Some(after) = query.complete_after {
            call = call.kwarg("completeAfter", after);
        }
        if let Some(before) = query.complete_before {
            call = call.kwarg("completeBefore", before);
        }
        if let Some(package) = query.package_id {
            call = call.kwarg("packageID", package);
        }
        let mut opts = Map::new();
        if let Some(order) = &query.order {
            opts.insert("order".to_owned(), Json::from(order.as_str()));
        }
        if let Some(limit) = query.limit {
            opts.insert("limit".to_owned(), Json::from(limit));
        }
        if let Some(offset) = query.offset {
            opts.insert("offset".to_owned(), Json::from(offset));
        }
        if !opts.is_empty() {
            call = call.kwarg("queryOpts", Json::Object(opts));
        }
        self.call_as(&call).await
    }

    /// `listTagged(tag, …)`: the builds in a tag.
    pub async fn list_tagged(
        &self,
        tag: &str,
        query: &ListTagged,
    ) -> Result<Vec<Build>, KojiError> {
        let mut call = Call::new("listTagged").arg(tag);
        if query.latest {
            call = call.kwarg("latest", true);
        }
        if query.inherit {
            call = call.kwarg("inherit", true);
        }
        if let Some(package) = &query.package {
            call = call.kwarg("package", package.as_str());
        }
        if let Some(event) = query.event {
            call = call.kwarg("event", event);
        }
        self.call_as(&call).await
    }

    /// `getLatestBuilds(tag, package=…)`: the newest build of each package
    /// (or of one) in a tag, inheritance included.
    pub async fn get_latest_builds(
        &self,
        tag: &str,
        package: Option<&str>,
    ) -> Result<Vec<Build>, KojiError> {
        let mut call = Call::new("getLatestBuilds").arg(tag);
        if let Some(package) = package {
            call = call.kwarg("package", package);
        }
        self.call_as(&call).await
    }

    /// `queryHistory(tables=['tag_listing'], …)`: builds entering and
    /// leaving tags.
    pub async fn tag_history(&self, query: &TagHistory) -> Result<Vec<TagListing>, KojiError> {
        let mut call = Call::new("queryHistory").kwarg("tables", vec!["tag_listing"]);
        if let Some(tag) = &query.tag {
            call = call.kwarg("tag", tag.as_str());
        }
        if let Some(build) = &query.build {
            call = call.kwarg("build", build.as_str());
        }
        if let Some(event) = query.after_event {
            call = call.kwarg("afterEvent", event);
        }
        if let Some(event) = query.before_event {
            call = call.kwarg("beforeEvent", event);
        }
        let mut tables: Map<String, Json> = self.call_as(&call).await?;
        match tables.remove("tag_listing") {
            Some(rows) => self.decode("queryHistory", rows),
            None => Ok(Vec::new()),
        }
    }

    /// `getLastEvent()`: the newest event.
    pub async fn get_last_event(&self) -> Result<Event, KojiError> {
        self.call_as(&Call::new("getLastEvent")).await
    }

    /// `listRPMs(buildID=…, arches=…)`: a build's RPMs, of these
    /// architectures only when given.
    pub async fn list_rpms(
        &self,
        build_id: i64,
        arches: Option<&[String]>,
    ) -> Result<Vec<Rpm>, KojiError> {
        let mut call = Call::new("listRPMs").kwarg("buildID", build_id);
        if let Some(arches) = arches {
            call = call.kwarg("arches", arches.to_vec());
        }
        self.call_as(&call).await
    }

    /// `listRPMs(buildID=…)` for several builds, through `multiCall` in
    /// batches of 500: each build's RPMs, in order; a fault fails the whole.
    pub async fn list_rpms_of(&self, build_ids: &[i64]) -> Result<Vec<Vec<Rpm>>, KojiError> {
        let mut all = Vec::with_capacity(build_ids.len());
        for chunk in build_ids.chunks(500) {
            let calls: Vec<Call> = chunk
                .iter()
                .map(|id| Call::new("listRPMs").kwarg("buildID", *id))
                .collect();
            for answer in self.multicall(&calls).await? {
                match answer {
                    Ok(value) => all.push(self.decode("listRPMs", value)?),
                    Err(fault) => {
                        return Err(KojiError::Fault {
                            url: self.url.clone(),
                            method: "listRPMs".to_owned(),
                            fault,
                        });
                    }
                }
            }
        }
        Ok(all)
    }

    /// `getTaskInfo(task_id, request=…)`: a task, or `None` when there is none.
    pub async fn get_task_info(
        &self,
        task_id: i64,
        request: bool,
    ) -> Result<Option<TaskInfo>, KojiError> {
        let mut call = Call::new("getTaskInfo").arg(task_id);
        if request {
            call = call.kwarg("request", true);
        }
        self.call_as(&call).await
    }
}

/// What a body that is not a result decodes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// The hub's fault.
    Fault(KojiFault),
    /// Not an XML-RPC response: why, with the start of the body.
    Malformed(String),
}

/// Decode an XML-RPC answer: its value, or its fault, or why it is neither.
/// Never panics, whatever the text (a fuzz target checks).
pub fn decode_response(text: &str) -> Result<Json, Decoded> {
    // A fault first: a response without <params> could be either.
    if let Ok(fault) = FaultResponse::from_xml(text) {
        return Err(Decoded::Fault(KojiFault {
            kind: FaultKind::from_code(fault.fault.code()),
            message: fault.fault.string().to_owned(),
        }));
    }
    match MethodResponse::from_xml(text) {
        Ok(response) => Ok(to_json(&response.value)),
        Err(_) => Err(Decoded::Malformed(if text.trim().is_empty() {
            "the body is empty".to_owned()
        } else {
            format!("it starts with {:?}", snippet(text))
        })),
    }
}

fn kind_of(value: &Json) -> &'static str {
    match value {
        Json::Null => "nil",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "a struct",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keyword_arguments_go_last_with_starstar() {
        let call = Call::new("listBuilds").arg(7).kwarg("state", 1);
        let params: Vec<Json> = call.params().iter().map(to_json).collect();
        assert_eq!(params, [json!(7), json!({"state": 1, "__starstar": true})]);
        assert_eq!(Call::new("getLastEvent").params(), Vec::<Xml>::new());
    }

    #[test]
    fn answers_decode_to_values_faults_or_reasons() {
        let ok = "<?xml version='1.0'?><methodResponse><params><param><value><struct>\
                  <member><name>id</name><value><int>3</int></value></member>\
                  <member><name>size</name><value><i8>6000000000</i8></value></member>\
                  <member><name>epoch</name><value><nil/></value></member>\
                  </struct></value></param></params></methodResponse>";
        assert_eq!(
            decode_response(ok).unwrap(),
            json!({"id": 3, "size": 6_000_000_000_i64, "epoch": null})
        );
        let fault = "<?xml version='1.0'?><methodResponse><fault><value><struct>\
                     <member><name>faultCode</name><value><int>1014</int></value></member>\
                     <member><name>faultString</name><value><string>server is offline</string></value></member>\
                     </struct></value></fault></methodResponse>";
        match decode_response(fault) {
            Err(Decoded::Fault(fault)) => {
                assert_eq!(fault.kind, FaultKind::ServerOffline);
                assert_eq!(fault.message, "server is offline");
            }
            other => panic!("{other:?}"),
        }
        match decode_response("<html><body>Bad Gateway</body></html>") {
            Err(Decoded::Malformed(what)) => assert!(what.contains("Bad Gateway"), "{what}"),
            other => panic!("{other:?}"),
        }
        match decode_response("") {
            Err(Decoded::Malformed(what)) => assert_eq!(what, "the body is empty"),
            other => panic!("{other:?}"),
        }
    }
}
