//! The one error type at the HTTP edge: every API failure becomes a JSON body
//! with a `message` (what ResultsDB's clients read) and the right status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use taskotron_store::StoreError;

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A field or parameter is invalid; 400 with ResultsDB's `validation_error` too.
    #[error("{field}: {message}")]
    Validation {
        /// The field or parameter.
        field: String,
        /// What is wrong with it.
        message: String,
        /// A Pydantic-style error type, e.g. `missing`, `string_type`.
        kind: &'static str,
    },
    /// The request as a whole is bad (malformed JSON, a rule across fields); 400.
    #[error("{0}")]
    BadRequest(String),
    /// No credentials, or wrong ones, for a write; 401.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller is known but may not do this; 403 with this message.
    #[error("{0}")]
    Forbidden(String),
    /// The thing asked for does not exist; 404 with this message.
    #[error("{0}")]
    NotFound(String),
    /// The body is larger than `api.max-body-bytes`; 413.
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    /// The body is not JSON; 415.
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// The database failed; 500, logged here and never shown to the client.
    /// Two store errors are the client's: a stale attempt (409) and a
    /// malformed job (400), both shown with the store's message.
    #[error("internal error")]
    Store(#[from] StoreError),
    /// The database cannot be reached (health checks); 503.
    #[error("{0}")]
    Unavailable(String),
    /// The server failed otherwise (a file it keeps cannot be written);
    /// 500, logged here and never shown to the client.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 about one field.
    pub fn validation(field: &str, message: String, kind: &'static str) -> ApiError {
        ApiError::Validation {
            field: field.to_owned(),
            message,
            kind,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            ApiError::Validation {
                field,
                message,
                kind,
            } => (
                StatusCode::BAD_REQUEST,
                json!({
                    "message": format!("{field}: {message}"),
                    "validation_error": [{"loc": field.split('.').collect::<Vec<_>>(), "msg": message, "type": kind}],
                }),
            ),
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, json!({"message": message})),
            ApiError::Unauthorized(message) => {
                (StatusCode::UNAUTHORIZED, json!({"message": message}))
            }
            ApiError::Forbidden(message) => (StatusCode::FORBIDDEN, json!({"message": message})),
            ApiError::NotFound(message) => (StatusCode::NOT_FOUND, json!({"message": message})),
            ApiError::TooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"message": self.to_string()}),
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!({"message": self.to_string()}),
            ),
            ApiError::Store(err @ StoreError::StaleAttempt { .. }) => {
                (StatusCode::CONFLICT, json!({"message": err.to_string()}))
            }
            ApiError::Store(err @ StoreError::InvalidJob { .. }) => {
                (StatusCode::BAD_REQUEST, json!({"message": err.to_string()}))
            }
            ApiError::Store(err) => {
                tracing::error!(error = %format!("{err:#}"), source = ?std::error::Error::source(err), "request failed in the store");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"message": "Internal Server Error"}),
                )
            }
            ApiError::Unavailable(message) => {
                (StatusCode::SERVICE_UNAVAILABLE, json!({"message": message}))
            }
            ApiError::Internal(message) => {
                tracing::error!(error = %message, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"message": "Internal Server Error"}),
                )
            }
        };
        let mut response = (status, axum::Json(body)).into_response();
        if matches!(self, ApiError::Unauthorized(_)) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(
                    "Bearer realm=\"taskotron\", Basic realm=\"taskotron\"",
                ),
            );
        }
        response
    }
}
