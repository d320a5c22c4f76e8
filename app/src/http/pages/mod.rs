//! The human side of the daemon: sign-up and sign-in, claiming an agent, typing an API key
//! for an agent's login, and the dashboard (its summary and the audit log so far). Server-rendered HTML with form posts (paths
//! and redirects as the reference's dashboard uses them), no scripts and no external assets.
//!
//! Every form that changes something carries a CSRF token: the browser session's own once
//! signed in, and before that a double-submit token in a short-lived `authsome_csrf` cookie.

mod accounts;
mod agents;
mod audit_log;
mod audit_rows;
mod chrome;
mod claims;
pub use claims::pending_claim;
mod connections;
mod cookies;
mod csrf;
mod failures;
mod forms;
mod home;
pub mod html;
mod provider_login;
mod providers;
mod redirects;
mod settings;
mod signed_in;

pub use cookies::{cleared_session_cookie, session_cookie, with_cookie};
pub use csrf::{CSRF_FIELD, FORM_TOKEN_COOKIE, form_token, form_token_valid, session_token_valid};
pub use failures::{failure_page, html_expected, wants_json};
pub use forms::{encode_query, form_fields, query_param};
pub use redirects::{after_form, login_location, sanitize_next, see_other};
pub use signed_in::{SignedIn, checked_form, signed_in, signed_in_or_sign_in};

use poem::http::StatusCode;
use poem::{IntoResponse, Request, Response};
use poem_openapi::param::Path;
use poem_openapi::registry::{MetaResponse, MetaResponses, Registry};
use poem_openapi::{ApiResponse, OpenApi};

use crate::http::errors::ApiError;
use crate::state::SharedState;

/// A page or form response (HTML, or a redirect), as a hidden operation of the API service.
pub struct PageResponse(pub Response);

impl IntoResponse for PageResponse {
    fn into_response(self) -> Response {
        self.0
    }
}

impl ApiResponse for PageResponse {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "An HTML page or a redirect",
                status: None,
                status_range: Some("2XX".to_owned()),
                content: vec![],
                headers: vec![],
            }],
        }
    }

    fn register(_registry: &mut Registry) {}
}

/// The pages and form posts. Their operations are hidden from the OpenAPI document (they
/// serve browsers, not API clients), as the reference's are.
pub struct PagesApi;

#[OpenApi]
impl PagesApi {
    /// The home page.
    #[oai(path = "/", method = "get", hidden)]
    async fn home(&self, request: &Request) -> PageResponse {
        PageResponse(home::home(request).await)
    }

    /// The audit log (and `/audit/`, as every page answers with a trailing slash too).
    #[oai(path = "/audit", method = "get", hidden)]
    async fn audit_log(&self, request: &Request) -> PageResponse {
        PageResponse(audit_log::audit_log(request).await)
    }

    /// The agents.
    #[oai(path = "/agents", method = "get", hidden)]
    async fn agents(&self, request: &Request) -> PageResponse {
        PageResponse(agents::agents(request).await)
    }

    /// An agent's detail (`?handle=`).
    #[oai(path = "/agents/detail", method = "get", hidden)]
    async fn agent(&self, request: &Request) -> PageResponse {
        PageResponse(agents::agent(request).await)
    }

    /// An admin's new claim link for an unclaimed agent.
    #[oai(path = "/agents/claim-link", method = "post", hidden)]
    async fn issue_claim_link(&self, request: &Request) -> PageResponse {
        PageResponse(agents::issue_claim_link(request).await)
    }

    /// The connections.
    #[oai(path = "/connections", method = "get", hidden)]
    async fn connections(&self, request: &Request) -> PageResponse {
        PageResponse(connections::connections(request).await)
    }

    /// A connection's detail (`?provider=&connection=[&principal=]`).
    #[oai(path = "/connections/detail", method = "get", hidden)]
    async fn connection(&self, request: &Request) -> PageResponse {
        PageResponse(connections::connection(request).await)
    }

    /// A connection's secret, for its owner.
    #[oai(path = "/connections/reveal", method = "post", hidden)]
    async fn reveal_connection(&self, request: &Request) -> PageResponse {
        PageResponse(connections::reveal(request).await)
    }

    /// Make a connection the provider's default.
    #[oai(path = "/connections/default", method = "post", hidden)]
    async fn default_connection(&self, request: &Request) -> PageResponse {
        PageResponse(connections::set_default(request).await)
    }

    /// Make an admin's connection global.
    #[oai(path = "/connections/global", method = "post", hidden)]
    async fn global_connection(&self, request: &Request) -> PageResponse {
        PageResponse(connections::set_global(request).await)
    }

    /// Stop offering a provider's global connection.
    #[oai(path = "/connections/global/unset", method = "post", hidden)]
    async fn unset_global_connection(&self, request: &Request) -> PageResponse {
        PageResponse(connections::unset_global(request).await)
    }

    /// Log out of a connection.
    #[oai(path = "/connections/logout", method = "post", hidden)]
    async fn logout_connection(&self, request: &Request) -> PageResponse {
        PageResponse(connections::logout(request).await)
    }

    /// The provider catalog.
    #[oai(path = "/providers", method = "get", hidden)]
    async fn providers(&self, request: &Request) -> PageResponse {
        PageResponse(providers::providers(request).await)
    }

    /// A provider's detail (`?provider=`).
    #[oai(path = "/providers/detail", method = "get", hidden)]
    async fn provider(&self, request: &Request) -> PageResponse {
        PageResponse(providers::provider(request).await)
    }

    /// An admin's OAuth client settings for a provider.
    #[oai(path = "/providers/configure", method = "post", hidden)]
    async fn configure_provider(&self, request: &Request) -> PageResponse {
        PageResponse(providers::configure(request).await)
    }

    /// An admin's form for a new custom provider.
    #[oai(path = "/providers/new", method = "get", hidden)]
    async fn new_provider(&self, request: &Request) -> PageResponse {
        PageResponse(providers::new_provider(request).await)
    }

    /// An admin registering a custom provider.
    #[oai(path = "/providers/new", method = "post", hidden)]
    async fn create_provider(&self, request: &Request) -> PageResponse {
        PageResponse(providers::create_provider(request).await)
    }

    /// An admin's form for a custom provider's definition (`?provider=`).
    #[oai(path = "/providers/edit", method = "get", hidden)]
    async fn edit_provider(&self, request: &Request) -> PageResponse {
        PageResponse(providers::edit_provider(request).await)
    }

    /// An admin saving a custom provider's definition.
    #[oai(path = "/providers/edit", method = "post", hidden)]
    async fn save_provider(&self, request: &Request) -> PageResponse {
        PageResponse(providers::save_provider(request).await)
    }

    /// An admin deleting a custom provider.
    #[oai(path = "/providers/delete", method = "post", hidden)]
    async fn delete_provider(&self, request: &Request) -> PageResponse {
        PageResponse(providers::delete_provider(request).await)
    }

    /// An admin revoking a provider everywhere.
    #[oai(path = "/providers/revoke", method = "post", hidden)]
    async fn revoke_provider(&self, request: &Request) -> PageResponse {
        PageResponse(providers::revoke(request).await)
    }

    /// The account and the server.
    #[oai(path = "/settings", method = "get", hidden)]
    async fn settings(&self, request: &Request) -> PageResponse {
        PageResponse(settings::settings(request).await)
    }

    /// An admin's invitation.
    #[oai(path = "/settings/invitations", method = "post", hidden)]
    async fn invite(&self, request: &Request) -> PageResponse {
        PageResponse(settings::invite(request).await)
    }

    /// Ending every session of the account.
    #[oai(path = "/settings/sign-out-everywhere", method = "post", hidden)]
    async fn sign_out_everywhere(&self, request: &Request) -> PageResponse {
        PageResponse(settings::sign_out_everywhere(request).await)
    }

    /// Sign in and sign up.
    #[oai(path = "/login", method = "get", hidden)]
    async fn login_page(&self, request: &Request) -> PageResponse {
        PageResponse(accounts::login_page(request).await)
    }

    /// Sign-in form post.
    #[oai(path = "/api/auth/login", method = "post", hidden)]
    async fn login(&self, request: &Request) -> PageResponse {
        PageResponse(accounts::login(request).await)
    }

    /// Sign-up form post.
    #[oai(path = "/api/auth/register", method = "post", hidden)]
    async fn register(&self, request: &Request) -> PageResponse {
        PageResponse(accounts::register(request).await)
    }

    /// Password change form post.
    #[oai(path = "/api/auth/password", method = "post", hidden)]
    async fn change_password(&self, request: &Request) -> PageResponse {
        PageResponse(accounts::change_password(request).await)
    }

    /// Sign-out form post.
    #[oai(path = "/api/logout", method = "post", hidden)]
    async fn logout(&self, request: &Request) -> PageResponse {
        PageResponse(accounts::logout(request).await)
    }

    /// The claim page.
    #[oai(path = "/claim", method = "get", hidden)]
    async fn claim_page(&self, request: &Request) -> PageResponse {
        PageResponse(claims::claim_page(request).await)
    }

    /// The short claim link.
    #[oai(path = "/claim/:token", method = "get", hidden)]
    async fn claim_redirect(&self, token: Path<String>) -> PageResponse {
        PageResponse(claims::claim_redirect(&token.0))
    }

    /// Claim confirmation form post.
    #[oai(path = "/api/claim/:token/confirm", method = "post", hidden)]
    async fn confirm_claim(&self, request: &Request, token: Path<String>) -> PageResponse {
        PageResponse(claims::confirm(request, &token.0).await)
    }

    /// The API-key input form.
    #[oai(path = "/auth/input", method = "get", hidden)]
    async fn input_page(&self, request: &Request) -> PageResponse {
        PageResponse(provider_login::input_page(request).await)
    }

    /// The API-key form post.
    #[oai(path = "/auth/input", method = "post", hidden)]
    async fn submit_input(&self, request: &Request) -> PageResponse {
        PageResponse(provider_login::submit_form(request).await)
    }

    /// The API-key form post, addressed by session path.
    #[oai(path = "/api/auth/sessions/:session_id/input", method = "post", hidden)]
    async fn submit_session_input(&self, request: &Request, session_id: Path<String>) -> PageResponse {
        PageResponse(provider_login::submit_api(request, &session_id.0).await)
    }

    /// The end of a provider login.
    #[oai(path = "/auth/success", method = "get", hidden)]
    async fn success_page(&self, request: &Request) -> PageResponse {
        PageResponse(provider_login::success_page(request).await)
    }

    /// Where OAuth providers return.
    #[oai(path = "/api/auth/callback/oauth", method = "get", hidden)]
    async fn oauth_callback(&self, request: &Request) -> PageResponse {
        PageResponse(provider_login::oauth_callback(request).await)
    }

    /// The device-code page.
    #[oai(path = "/auth/device", method = "get", hidden)]
    async fn device_page(&self, request: &Request) -> PageResponse {
        PageResponse(provider_login::device_page(request).await)
    }

    /// The dashboard's Connect: a login started by the signed-in person.
    #[oai(path = "/api/auth/providers/:provider/connect", method = "post", hidden)]
    async fn connect(&self, request: &Request, provider: Path<String>) -> PageResponse {
        PageResponse(provider_login::connect(request, &provider.0).await)
    }
}

/// The daemon state a page handler runs against.
fn state_of(request: &Request) -> Option<SharedState> {
    request.data::<SharedState>().cloned()
}

/// The page when the state is missing (a wiring mistake, never a client's doing).
fn missing_state() -> Response {
    failure_page(ApiError::detail(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error",
    ))
}
