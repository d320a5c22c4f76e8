//! Identity claims: which principal an identity (agent) belongs to.

use serde::{Deserialize, Serialize};

use crate::identity::IdentityHandle;
use crate::principal::PrincipalId;
use crate::timestamp::Timestamp;
use crate::validation::{ValidationError, excerpt};

/// The lifecycle of a claim. Only `accepted` grants vault access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClaimStatus {
    /// Claimed but not yet approved.
    Pending,
    /// Approved: the identity acts for the principal.
    Accepted,
    /// Refused: the identity has no access.
    Rejected,
}

impl ClaimStatus {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text {
            "pending" => Ok(Self::Pending),
            "accepted" => Ok(Self::Accepted),
            "rejected" => Ok(Self::Rejected),
            other => Err(ValidationError::ClaimStatus(excerpt(other))),
        }
    }
}

/// The claim of one identity by one principal (at most one claim per identity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityClaim {
    /// The claimed identity. Not a foreign key: a claim may name a handle that is not registered.
    pub identity_handle: IdentityHandle,
    /// The owner.
    pub principal_id: PrincipalId,
    /// Lifecycle state.
    pub status: ClaimStatus,
    /// When the claim was made.
    pub created_at: Timestamp,
    /// When the status last changed.
    pub updated_at: Timestamp,
}
