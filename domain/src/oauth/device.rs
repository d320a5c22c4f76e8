//! The device authorization grant (RFC 8628): the codes a provider hands out, and what each
//! poll of its token endpoint means.

use secrecy::SecretString;

use super::token::{TokenAnswerError, TokenGrant};
use super::{ProviderAnswer, integer, short, text};

/// The grant type of a device-code token request.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Seconds between polls when the provider does not say (RFC 8628 §3.2).
pub const DEFAULT_INTERVAL_SECONDS: i64 = 5;
/// Seconds the codes live when the provider does not say (the reference's default).
pub const DEFAULT_EXPIRES_IN_SECONDS: i64 = 900;
/// How much `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_SECONDS: i64 = 5;

/// What the device authorization endpoint handed out.
pub struct DeviceAuthorization {
    /// The code the token requests carry (secret: whoever has it gets the tokens).
    pub device_code: SecretString,
    /// The code the person types at the verification page.
    pub user_code: String,
    /// Where the person goes.
    pub verification_uri: String,
    /// The same with the code filled in, when the provider offers it.
    pub verification_uri_complete: Option<String>,
    /// Seconds between polls (1 to 300).
    pub interval: i64,
    /// Seconds until the codes expire (1 to 3 600).
    pub expires_in: i64,
}

fn web_link(text: Option<&str>) -> Option<String> {
    // Shown to the person as a link: only web addresses, never `javascript:` or `data:`.
    let text = text?.trim();
    (text.starts_with("https://") || text.starts_with("http://")).then(|| short(text))
}

impl DeviceAuthorization {
    /// Reads the device authorization endpoint's answer (`verification_url` accepted for
    /// providers that spell it the older way).
    pub fn from_answer(answer: &ProviderAnswer<'_>) -> Result<Self, TokenAnswerError> {
        if let Some((error, description)) = answer.oauth_error() {
            return Err(TokenAnswerError::Refused { error, description });
        }
        let Some(body) = answer.json else {
            return Err(TokenAnswerError::NotJson {
                status: answer.status,
                content: answer.described(),
            });
        };
        let device_code = text(body, "device_code");
        let user_code = text(body, "user_code");
        let verification_uri = web_link(text(body, "verification_uri").or_else(|| text(body, "verification_url")));
        match (answer.is_success(), device_code, user_code, verification_uri) {
            (true, Some(device_code), Some(user_code), Some(verification_uri)) => Ok(Self {
                device_code: SecretString::from(device_code.to_owned()),
                user_code: short(user_code),
                verification_uri,
                verification_uri_complete: web_link(text(body, "verification_uri_complete")),
                interval: integer(body, "interval")
                    .unwrap_or(DEFAULT_INTERVAL_SECONDS)
                    .clamp(1, 300),
                expires_in: integer(body, "expires_in")
                    .unwrap_or(DEFAULT_EXPIRES_IN_SECONDS)
                    .clamp(1, 3_600),
            }),
            _ => Err(TokenAnswerError::Refused {
                error: "invalid_device_authorization".to_owned(),
                description: Some("the answer lacks device_code, user_code or an http(s) verification_uri".to_owned()),
            }),
        }
    }
}

/// What one poll of the token endpoint means.
#[derive(Debug)]
pub enum DevicePoll {
    /// The person approved: the tokens.
    Granted(TokenGrant),
    /// Not yet (`authorization_pending`): poll again after the interval.
    Pending,
    /// Too fast (`slow_down`): poll again after the interval plus five seconds.
    SlowDown,
    /// The person refused (`access_denied`).
    Denied,
    /// The codes expired (`expired_token`).
    Expired,
    /// Anything else: the login fails with this reason.
    Failed(TokenAnswerError),
}

impl DevicePoll {
    /// Reads one poll's answer.
    pub fn from_answer(answer: &ProviderAnswer<'_>) -> Self {
        match TokenGrant::from_answer(answer) {
            Ok(grant) => Self::Granted(grant),
            Err(error) => match error.error_code() {
                Some("authorization_pending") => Self::Pending,
                Some("slow_down") => Self::SlowDown,
                Some("access_denied") => Self::Denied,
                Some("expired_token") => Self::Expired,
                _ => Self::Failed(error),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use serde_json::{Value, json};

    fn answer<'a>(status: u16, body: &'a Value) -> ProviderAnswer<'a> {
        ProviderAnswer {
            status,
            json: body.as_object(),
            content_type: Some("application/json"),
        }
    }

    #[test]
    fn codes_are_read_with_the_rfcs_defaults() {
        let body =
            json!({"device_code": "dc", "user_code": "ABCD-EFGH", "verification_url": "https://example.com/device"});
        let codes = DeviceAuthorization::from_answer(&answer(200, &body)).expect("codes");
        assert_eq!(codes.device_code.expose_secret(), "dc");
        assert_eq!(
            (codes.verification_uri.as_str(), codes.interval, codes.expires_in),
            ("https://example.com/device", 5, 900)
        );
        let hostile = json!({"device_code": "dc", "user_code": "U", "verification_uri": "javascript:alert(1)"});
        assert!(DeviceAuthorization::from_answer(&answer(200, &hostile)).is_err());
        let eager = json!({"device_code": "dc", "user_code": "U", "verification_uri": "https://x", "interval": 0});
        assert_eq!(
            DeviceAuthorization::from_answer(&answer(200, &eager))
                .expect("codes")
                .interval,
            1
        );
    }

    #[test]
    fn each_poll_answer_has_its_meaning() {
        let poll = |status, body: Value| DevicePoll::from_answer(&answer(status, &body));
        assert!(matches!(
            poll(400, json!({"error": "authorization_pending"})),
            DevicePoll::Pending
        ));
        assert!(matches!(poll(400, json!({"error": "slow_down"})), DevicePoll::SlowDown));
        assert!(matches!(
            poll(400, json!({"error": "access_denied"})),
            DevicePoll::Denied
        ));
        assert!(matches!(
            poll(400, json!({"error": "expired_token"})),
            DevicePoll::Expired
        ));
        assert!(matches!(
            poll(400, json!({"error": "invalid_client"})),
            DevicePoll::Failed(_)
        ));
        assert!(matches!(
            poll(200, json!({"access_token": "t"})),
            DevicePoll::Granted(_)
        ));
    }
}
