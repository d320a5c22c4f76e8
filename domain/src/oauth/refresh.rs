//! Keeping a stored OAuth access token usable (RFC 6749 §6): when a connection's token is due
//! for a refresh, what a refresh grant changes in the record, and how a failed refresh is
//! remembered so that the requests arriving just after it do not ask the provider again.
//!
//! The rules are authsome 0.7.2's (refresh inside the near-expiry window, a token without an
//! expiry used as it is, an expired token without a refresh token reported expired), with one
//! change: the window is at most half the token's lifetime, so a token that lives less than
//! the window is no longer refreshed on every use (0.7.2 refreshed a 60 s token on each call).

use serde_json::{Map, Value};

use crate::credential_records::{ConnectionRecord, ConnectionStatus};
use crate::oauth::TokenGrant;
use crate::timestamp::Timestamp;
use secrecy::ExposeSecret;

/// `grant_type` of the refresh grant.
pub const GRANT_TYPE: &str = "refresh_token";

/// The record's `metadata` key holding the last failed refresh (see [`RefreshFailure`]).
pub const FAILURE_KEY: &str = "refresh_failure";

/// What a connection's access token needs at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Use it as it is: no expiry, or not yet inside the refresh window.
    Fresh,
    /// Inside the window, with a refresh token: refresh it.
    DueForRefresh,
    /// Past its expiry and nothing to refresh it with.
    Expired,
    /// Inside the window, still valid, but nothing to refresh it with: use it while it lasts.
    ExpiringWithoutRefreshToken,
}

/// The refresh window for `record`: `configured` seconds before expiry, but no more than half
/// the token's lifetime when the record says when it was obtained.
pub fn refresh_window(record: &ConnectionRecord, configured: i64) -> i64 {
    let lifetime = match (record.obtained_at, record.expires_at) {
        (Some(obtained), Some(expires)) => Some(expires.unix_seconds() - obtained.unix_seconds()),
        _ => None,
    };
    match lifetime {
        Some(lifetime) if lifetime > 0 => configured.min(lifetime / 2),
        _ => configured,
    }
}

/// What `record`'s token needs at `now`, with the operator's window (`configured` seconds).
pub fn freshness(record: &ConnectionRecord, now: Timestamp, configured: i64) -> Freshness {
    let Some(expires_at) = record.expires_at else {
        return Freshness::Fresh;
    };
    if now < expires_at.plus_seconds(-refresh_window(record, configured)) {
        return Freshness::Fresh;
    }
    if record.refresh_token.as_deref().is_some_and(|t| !t.is_empty()) {
        return Freshness::DueForRefresh;
    }
    if now >= expires_at {
        Freshness::Expired
    } else {
        Freshness::ExpiringWithoutRefreshToken
    }
}

/// Whether the access token can still be used at `now` (no expiry, or not reached).
pub fn still_valid(record: &ConnectionRecord, now: Timestamp) -> bool {
    record.expires_at.is_none_or(|expiry| now < expiry)
}

/// Applies a refresh grant to the record: the new access token, the rotated refresh token if
/// the provider sent one (the old one stays otherwise, RFC 6749 §6), the new expiry, obtained
/// now, connected, no failure remembered.
///
/// A grant without `expires_in` leaves the token without an expiry (used as it is until the
/// provider refuses it); 0.7.2 kept the old, passed expiry, and so refreshed on every call.
pub fn apply_grant(record: &mut ConnectionRecord, grant: &TokenGrant, now: Timestamp) {
    record.access_token = Some(grant.access_token.expose_secret().to_owned());
    if let Some(rotated) = &grant.refresh_token {
        record.refresh_token = Some(rotated.expose_secret().to_owned());
    }
    record.token_type = Some(grant.token_type.clone());
    record.expires_at = grant.expires_in.map(|seconds| now.plus_seconds(seconds));
    record.obtained_at = Some(now);
    record.status = ConnectionStatus::Connected;
    record.metadata.remove(FAILURE_KEY);
}

/// Why a refresh failed, by what the caller should be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The provider answered and refused (`invalid_grant`, a revoked grant, no client): the
    /// grant is gone until someone logs in again.
    Refused,
    /// The provider could not be reached or did not answer in time: it may work later.
    Unreachable,
    /// The provider did not answer within the time allowed.
    TimedOut,
}

impl FailureKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Refused => "refused",
            Self::Unreachable => "unreachable",
            Self::TimedOut => "timed_out",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "refused" => Some(Self::Refused),
            "unreachable" => Some(Self::Unreachable),
            "timed_out" => Some(Self::TimedOut),
            _ => None,
        }
    }

    /// Seconds a failure of this kind is answered from the record without asking the provider
    /// again: long for a refusal (asking again changes nothing), short for a provider that was
    /// down for a moment.
    pub fn hold_seconds(self) -> i64 {
        match self {
            Self::Refused => 30,
            Self::Unreachable | Self::TimedOut => 5,
        }
    }
}

/// A failed refresh, kept in the record's metadata so that every replica answers the requests
/// that come just after it the same way, without a grant of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshFailure {
    /// What happened.
    pub kind: FailureKind,
    /// The reason, in words (never a secret).
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

impl RefreshFailure {
    /// Remembers this failure in `record`.
    pub fn remember_in(&self, record: &mut ConnectionRecord) {
        let mut entry = Map::new();
        entry.insert("kind".to_owned(), Value::from(self.kind.as_str()));
        entry.insert("reason".to_owned(), Value::from(self.reason.clone()));
        entry.insert("at".to_owned(), Value::from(self.at.to_isoformat()));
        record.metadata.insert(FAILURE_KEY.to_owned(), Value::Object(entry));
    }

    /// The failure `record` remembers, if it is recent enough at `now` to be answered from.
    pub fn recent_in(record: &ConnectionRecord, now: Timestamp) -> Option<Self> {
        let entry = record.metadata.get(FAILURE_KEY)?.as_object()?;
        let kind = FailureKind::parse(entry.get("kind")?.as_str()?)?;
        let at = Timestamp::parse(entry.get("at")?.as_str()?).ok()?;
        let reason = entry.get("reason")?.as_str()?.to_owned();
        (now < at.plus_seconds(kind.hold_seconds()) && at <= now).then_some(Self { kind, reason, at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider_definition::AuthType;
    use secrecy::SecretString;

    fn token(lifetime: i64, obtained_ago: i64, refresh: Option<&str>) -> (ConnectionRecord, Timestamp) {
        let now = Timestamp::now();
        let mut record = ConnectionRecord::connected("github", "default", AuthType::Oauth2);
        record.access_token = Some("old-access".to_owned());
        record.refresh_token = refresh.map(str::to_owned);
        record.obtained_at = Some(now.plus_seconds(-obtained_ago));
        record.expires_at = Some(now.plus_seconds(lifetime - obtained_ago));
        (record, now)
    }

    #[test]
    fn an_hour_token_is_refreshed_in_its_last_five_minutes() {
        let (record, now) = token(3600, 3000, Some("r"));
        assert_eq!(freshness(&record, now, 300), Freshness::Fresh);
        let (record, now) = token(3600, 3301, Some("r"));
        assert_eq!(freshness(&record, now, 300), Freshness::DueForRefresh);
    }

    #[test]
    fn a_short_token_is_refreshed_in_its_second_half_not_on_every_use() {
        // 0.7.2 refreshed a 60 s token on the first use after the login.
        let (record, now) = token(60, 1, Some("r"));
        assert_eq!(refresh_window(&record, 300), 30);
        assert_eq!(freshness(&record, now, 300), Freshness::Fresh);
        let (record, now) = token(60, 31, Some("r"));
        assert_eq!(freshness(&record, now, 300), Freshness::DueForRefresh);
    }

    #[test]
    fn without_a_refresh_token_a_token_is_used_until_it_expires() {
        let (record, now) = token(60, 50, None);
        assert_eq!(freshness(&record, now, 300), Freshness::ExpiringWithoutRefreshToken);
        let (record, now) = token(60, 61, None);
        assert_eq!(freshness(&record, now, 300), Freshness::Expired);
        let (mut record, now) = token(60, 61, None);
        record.expires_at = None;
        assert_eq!(freshness(&record, now, 300), Freshness::Fresh);
    }

    #[test]
    fn a_grant_replaces_the_tokens_and_keeps_a_refresh_token_that_was_not_rotated() {
        let (mut record, now) = token(60, 61, Some("old-refresh"));
        record.status = ConnectionStatus::Expired;
        RefreshFailure {
            kind: FailureKind::Unreachable,
            reason: "down".to_owned(),
            at: now,
        }
        .remember_in(&mut record);
        let grant = TokenGrant {
            access_token: SecretString::from("new-access"),
            refresh_token: None,
            token_type: "Bearer".to_owned(),
            expires_in: Some(120),
        };
        apply_grant(&mut record, &grant, now);
        assert_eq!(record.access_token.as_deref(), Some("new-access"));
        assert_eq!(record.refresh_token.as_deref(), Some("old-refresh"));
        assert_eq!(record.expires_at, Some(now.plus_seconds(120)));
        assert_eq!(record.status, ConnectionStatus::Connected);
        assert!(RefreshFailure::recent_in(&record, now).is_none());

        let rotated = TokenGrant {
            refresh_token: Some(SecretString::from("new-refresh")),
            expires_in: None,
            ..grant
        };
        apply_grant(&mut record, &rotated, now);
        assert_eq!(record.refresh_token.as_deref(), Some("new-refresh"));
        assert_eq!(record.expires_at, None, "no expires_in: no expiry, not the old one");
    }

    #[test]
    fn a_failure_is_remembered_for_its_hold_and_then_forgotten() {
        let (mut record, now) = token(60, 61, Some("r"));
        let failure = RefreshFailure {
            kind: FailureKind::Refused,
            reason: "the provider refused: invalid_grant".to_owned(),
            at: now,
        };
        failure.remember_in(&mut record);
        let text = record.to_json();
        let read = ConnectionRecord::from_json(&text).ok().flatten().expect("record");
        assert_eq!(RefreshFailure::recent_in(&read, now.plus_seconds(29)), Some(failure));
        assert_eq!(RefreshFailure::recent_in(&read, now.plus_seconds(30)), None);
        let mut short = read.clone();
        RefreshFailure {
            kind: FailureKind::TimedOut,
            reason: "slow".to_owned(),
            at: now,
        }
        .remember_in(&mut short);
        assert!(RefreshFailure::recent_in(&short, now.plus_seconds(4)).is_some());
        assert!(RefreshFailure::recent_in(&short, now.plus_seconds(5)).is_none());
        // A planted entry from the future is not trusted to hold refreshes off.
        assert!(RefreshFailure::recent_in(&read, now.plus_seconds(-1)).is_none());
    }
}
