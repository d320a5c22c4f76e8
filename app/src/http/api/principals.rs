//! `GET /api/principals` (admin).

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use crate::http::api::ApiTags;
use crate::http::api::wire_enums::Role;
use crate::http::caller::AnyCaller;
use crate::state::SharedState;

/// One account.
#[derive(Object)]
pub struct PrincipalView {
    /// Id.
    pub principal_id: String,
    /// Email.
    pub email: String,
    /// The role.
    pub role: Role,
    /// Creation time (`+00:00` form, as the reference).
    pub created_at: String,
}

/// Every account.
#[derive(Object)]
pub struct Principals {
    /// Ordered by creation.
    pub principals: Vec<PrincipalView>,
}

operation_success! {
    /// What `GET /api/principals` answers.
    PrincipalsSuccess {
        /// Every account, oldest first.
        200 Listed(Principals),
    }
}

operation_failures! {
    /// Why `GET /api/principals` can fail (403 also when the caller is not an admin).
    PrincipalsFailure authenticated {}
}

/// Human accounts.
pub struct PrincipalsApi;

impl PrincipalsApi {
    async fn all(state: &SharedState, caller: AnyCaller) -> Result<PrincipalsSuccess, PrincipalsFailure> {
        let principals = authsome_services::accounts::list_principals(state, &caller.0).await?;
        Ok(PrincipalsSuccess::Listed(Json(Principals {
            principals: principals
                .into_iter()
                .map(|p| PrincipalView {
                    principal_id: p.id.as_str().to_owned(),
                    email: p.email.as_str().to_owned(),
                    role: p.role.into(),
                    created_at: p.created_at.to_isoformat(),
                })
                .collect(),
        })))
    }
}

#[OpenApi(tag = "ApiTags::Principals")]
impl PrincipalsApi {
    /// Every account (admin only).
    #[oai(path = "/api/principals", method = "get", operation_id = "list_principals")]
    async fn list(&self, state: Data<&SharedState>, caller: AnyCaller) -> Result<PrincipalsSuccess, PrincipalsFailure> {
        Self::all(state.0, caller).await
    }

    /// Same as `GET /api/principals`.
    #[oai(path = "/api/principals/", method = "get", hidden)]
    async fn list_slash(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
    ) -> Result<PrincipalsSuccess, PrincipalsFailure> {
        Self::all(state.0, caller).await
    }
}
