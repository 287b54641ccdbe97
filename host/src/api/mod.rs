//! The HTTP API under `/v1`, and AWS's own protocol on `POST /` ([`aws`]): two thin
//! layers over the service. This is the only module that
//! imports axum. Every route is listed once in [`ROUTES`], which the router and
//! `openapi.json` are both checked against.

pub mod aws;
mod error;
mod extract;
mod handlers;
mod listen;
mod openapi;
mod versions;
mod views;

use axum::Router;
use axum::extract::Request;
use axum::routing::{get, post};

pub use error::ApiError;
pub use extract::MAX_JSON_BODY_BYTES;
pub use listen::ServeOptions;
pub use openapi::{ROUTES, RouteDoc, openapi_document};

use crate::service::Service;

/// The router with every route, bound to a service.
pub fn router(service: Service) -> Router {
    use handlers as h;
    use versions as v;
    Router::new()
        .route("/", post(aws::handle))
        .route("/healthz", get(h::healthz))
        .route("/v1/openapi.json", get(openapi::serve))
        .route("/v1/tenants", post(h::create_tenant).get(h::list_tenants))
        .route("/v1/tenants/{id}", get(h::describe_tenant))
        .route("/v1/tenants/{id}/quotas", axum::routing::put(h::set_quotas))
        .route("/v1/tenants/{id}/keys", post(h::create_key))
        .route(
            "/v1/tenants/{id}/aws-credentials",
            post(h::create_aws_credentials),
        )
        .route("/v1/components", get(h::list_components))
        .route(
            "/v1/components/{name}",
            post(h::upload_component).get(h::describe_component),
        )
        .route(
            "/v1/components/{name}/versions/{version}",
            axum::routing::delete(h::delete_component_version),
        )
        .route(
            "/v1/state-machines",
            post(h::create_state_machine).get(h::list_state_machines),
        )
        .route(
            "/v1/state-machines/{name}",
            get(h::describe_state_machine)
                .put(h::update_state_machine)
                .delete(h::delete_state_machine),
        )
        .route(
            "/v1/state-machines/{name}/executions",
            post(h::start_execution),
        )
        .route(
            "/v1/state-machines/{name}/start-sync",
            post(h::start_sync_execution),
        )
        .route(
            "/v1/state-machines/{name}/executions/{execution}",
            get(h::describe_execution),
        )
        .route(
            "/v1/state-machines/{name}/executions/{execution}/history",
            get(h::execution_history),
        )
        .route(
            "/v1/state-machines/{name}/executions/{execution}/stop",
            post(h::stop_execution),
        )
        .route(
            "/v1/state-machines/{name}/executions/{execution}/definition",
            get(v::execution_definition),
        )
        .route(
            "/v1/state-machines/{name}/versions",
            post(v::publish_version).get(v::list_versions),
        )
        .route(
            "/v1/state-machines/{name}/versions/{version}",
            get(v::describe_version).delete(v::delete_version),
        )
        .route(
            "/v1/state-machines/{name}/aliases",
            post(v::create_alias).get(v::list_aliases),
        )
        .route(
            "/v1/state-machines/{name}/aliases/{alias}",
            get(v::describe_alias)
                .put(v::update_alias)
                .delete(v::delete_alias),
        )
        .route(
            "/v1/state-machines/{name}/tags",
            get(v::list_tags).post(v::tag),
        )
        .route(
            "/v1/state-machines/{name}/tags/{key}",
            axum::routing::delete(v::untag),
        )
        .route("/v1/executions", get(h::list_executions))
        .route("/v1/validate", post(h::validate_definition))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        // Bodies are size-checked by our own extractors (per route, per tenant quota).
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(service)
}

/// Serves the API on `listener` with the connection limits of `options` until `shutdown`
/// completes, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: Service,
    options: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listen::serve(listener, router(service), options, shutdown).await
}

async fn unknown_route(req: Request) -> ApiError {
    ApiError::UnknownRoute {
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
    }
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::MethodNotAllowed {
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
    }
}

#[cfg(test)]
mod tests;
