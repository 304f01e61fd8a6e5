//! The scheduler's JSON API: events under `/api/v1/events`, the
//! scheduler's state under `/api/v1/scheduler`.
//!
//! Reads are open. `POST /api/v1/events` records an event from another
//! source (or `taskotron trigger`) and is a write, protected like the
//! ResultsDB POSTs: its body is the event's fact, a JSON object with
//! `message_type`, `item_type`, `item` and optionally `item_revision`
//! (default: the item) and any other fields the rules look at; `retrigger:
//! true` asks for new re-runs of the item's jobs. The same fact posted
//! twice (or found by a poller or a message) is one event.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::{Value, json};
use taskotron_store::events::{Event, EventFilter, EventState, NewEvent, Recorded};
use taskotron_triggers::Fact;

use crate::AppState;
use crate::error::ApiError;
use crate::jobs::{json_body, opt_time, time};

/// The most events one list holds.
pub const MAX_EVENTS: u32 = 1000;

/// The scheduler's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/events", get(list_events).post(create_event))
        .route("/api/v1/events/{uuid}", get(one_event))
        .route("/api/v1/scheduler", get(scheduler_state))
}

/// An event as JSON; `full` adds the fact, the body and the jobs.
#[must_use]
pub fn render_event(event: &Event, full: bool) -> Value {
    let mut out = json!({
        "uuid": event.uuid,
        "source": event.source,
        "state": event.state.as_str(),
        "reason": event.reason,
        "message_id": event.message_id,
        "natural_key": event.natural_key,
        "topic": event.topic,
        "schema": event.schema,
        "message_type": event.message_type,
        "item_type": event.item_type,
        "item": event.item,
        "item_revision": event.item_revision,
        "job_count": event.job_count,
        "received_at": time(event.received_at),
        "planned_at": opt_time(event.planned_at),
    });
    if full && let Some(map) = out.as_object_mut() {
        map.insert("fact".into(), event.fact.clone().unwrap_or(Value::Null));
        map.insert(
            "body".into(),
            event.body.clone().map_or(Value::Null, Value::from),
        );
        let jobs: Vec<Value> = event
            .jobs
            .iter()
            .map(|(uuid, how)| json!({"uuid": uuid, "how": how}))
            .collect();
        map.insert("jobs".into(), Value::from(jobs));
    }
    out
}

fn filter_from(query: Option<&str>) -> Result<EventFilter, ApiError> {
    let mut filter = EventFilter::default();
    for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let value = value.into_owned();
        match name.as_ref() {
            "state" => {
                filter.state = Some(EventState::parse(&value).ok_or_else(|| {
                    ApiError::validation(
                        "state",
                        format!(
                            "unknown state {value:?}: expected new, planned, rejected or ignored"
                        ),
                        "enum",
                    )
                })?);
            }
            "source" => filter.source = Some(value),
            "topic" => filter.topic = Some(value),
            "item" => filter.item = Some(value),
            "message_type" => filter.message_type = Some(value),
            "before" => {
                let uuid = uuid::Uuid::parse_str(&value).map_err(|_| {
                    ApiError::validation(
                        "before",
                        "must be an event's uuid".to_owned(),
                        "uuid_parsing",
                    )
                })?;
                filter.before = Some(uuid.hyphenated().to_string());
            }
            "limit" => {
                filter.limit = Some(
                    value
                        .parse::<u32>()
                        .ok()
                        .filter(|it| (1..=MAX_EVENTS).contains(it))
                        .ok_or_else(|| {
                            ApiError::validation(
                                "limit",
                                format!("must be a whole number from 1 to {MAX_EVENTS}"),
                                "int_parsing",
                            )
                        })?,
                );
            }
            other => {
                return Err(ApiError::validation(
                    other,
                    "unknown parameter: expected state, source, topic, item, message_type, \
                     before or limit"
                        .to_owned(),
                    "extra_forbidden",
                ));
            }
        }
    }
    Ok(filter)
}

async fn list_events(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let filter = filter_from(query.as_deref())?;
    let events = state.store.list_events(&filter).await?;
    let data: Vec<Value> = events.iter().map(|it| render_event(it, false)).collect();
    let limit = filter.limit.unwrap_or(100);
    let next = (events.len() == limit as usize)
        .then(|| events.last().map(|it| it.uuid.clone()))
        .flatten();
    Ok(Json(json!({"data": data, "next_before": next})).into_response())
}

async fn one_event(
    State(state): State<AppState>,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound(format!("event {uuid:?} not found"));
    let parsed = uuid::Uuid::parse_str(&uuid).map_err(|_| not_found())?;
    match state
        .store
        .get_event(&parsed.hyphenated().to_string())
        .await?
    {
        Some(event) => Ok(Json(render_event(&event, true)).into_response()),
        None => Err(not_found()),
    }
}

async fn create_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let who = state.resultsdb.auth.check(&headers)?;
    let value: Value = json_body(&state, &headers, body, false).await?;
    let fact = Fact::from_json(value).map_err(|err| match err {
        taskotron_triggers::FactError::Field(field) => {
            ApiError::validation(field, err.to_string(), "string_type")
        }
        taskotron_triggers::FactError::NotAnObject(_) => ApiError::BadRequest(err.to_string()),
    })?;
    let event = NewEvent {
        source: "api".to_owned(),
        message_id: None,
        natural_key: fact.natural_key(),
        topic: None,
        schema: None,
        fact: Some(fact.to_json()),
        body: Some(json!({"by": who.as_deref().unwrap_or("anonymous")}).to_string()),
        state: EventState::New,
        reason: None,
    };
    let recorded = state
        .store
        .record_events(std::slice::from_ref(&event))
        .await?;
    let natural_key = event.natural_key.clone();
    match recorded.first() {
        Some(Recorded::Inserted(uuid)) => {
            state.scheduler_wake.notify_one();
            tracing::info!(event = %uuid, natural_key = natural_key.as_deref().unwrap_or_default(), by = who.as_deref().unwrap_or("anonymous"), "event recorded from the API");
            let stored = state.store.get_event(uuid).await?;
            Ok((
                StatusCode::CREATED,
                Json(json!({
                    "duplicate": false,
                    "event": stored.map(|it| render_event(&it, true)),
                })),
            )
                .into_response())
        }
        _ => Ok(Json(json!({
            "duplicate": true,
            "natural_key": natural_key,
        }))
        .into_response()),
    }
}

async fn scheduler_state(State(state): State<AppState>) -> Result<Response, ApiError> {
    let counts = state.store.event_counts().await?;
    let mut events = serde_json::Map::new();
    for known in EventState::ALL {
        let count = counts
            .iter()
            .find(|(it, _)| *it == known)
            .map_or(0, |(_, n)| *n);
        events.insert(known.as_str().to_owned(), Value::from(count));
    }
    let watermarks: Vec<Value> = state
        .store
        .watermarks()
        .await?
        .iter()
        .map(|it| {
            json!({
                "name": it.name,
                "value": it.value,
                "updated_at": time(it.updated_at),
                "last_run_at": opt_time(it.last_run_at),
                "last_ok_at": opt_time(it.last_ok_at),
                "last_error": it.last_error,
                "runs": it.runs,
                "failures": it.failures,
                "found": it.found,
            })
        })
        .collect();
    Ok(Json(json!({"events": events, "pollers": watermarks})).into_response())
}
