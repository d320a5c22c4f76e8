//! The caller types handlers take (one per way a route may be called), as poem-openapi
//! extractors that also register the `PoP` and `BrowserSession` security schemes.

use authsome_domain::ProviderName;
use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::pop::verify_pop;
use super::{
    RawBody, SESSION_COOKIE, VerifiedPop, authenticate_pop, authenticate_pop_or_browser, browser_caller, unauthorized,
};
use crate::http::errors::ApiError;
use authsome_services::ownership::Caller;

const POP_SCHEME: &str = "PoP";
const BROWSER_SCHEME: &str = "BrowserSession";

fn register_pop(registry: &mut Registry) {
    registry.create_security_scheme(
        POP_SCHEME,
        MetaSecurityScheme {
            ty: "apiKey",
            description: Some(
                "`Authorization: PoP <jwt>`: an EdDSA (Ed25519) JWT signed by the agent's did:key, with \
                 iss (did:key), sub (handle), aud `authsome-daemon`, iat, exp (at most 120 s after iat), jti \
                 (single use), htm (method), htu (path and query) and body_sha256 (hex SHA-256 of the body).",
            ),
            name: Some("Authorization"),
            key_in: Some("header"),
            scheme: None,
            bearer_format: None,
            flows: None,
            openid_connect_url: None,
        },
    );
}

fn register_browser(registry: &mut Registry) {
    registry.create_security_scheme(
        BROWSER_SCHEME,
        MetaSecurityScheme {
            ty: "apiKey",
            description: Some(
                "The `authsome_ui_session` cookie set by signing in; requests other than GET must also send the \
                 session's CSRF token in `X-CSRF-Token`. Used only when no Authorization header is sent.",
            ),
            name: Some(SESSION_COOKIE),
            key_in: Some("cookie"),
            scheme: None,
            bearer_format: None,
            flows: None,
            openid_connect_url: None,
        },
    );
}

/// A caller authenticated by a proof-of-possession token.
pub struct PopCaller(pub Caller);

/// A caller authenticated by a proof-of-possession token, for a request whose JSON body names
/// a `provider`: that provider's custom definition is read with the caller's ownership.
pub struct ResolvingCaller {
    /// The verified token and its caller (with the custom definition of `provider`, read with
    /// the ownership), the id consumed by the handler while it reads the caller's vault (one
    /// round trip for both when they share Redis).
    pub verified: VerifiedPop,
    /// The provider named in the body, when it is a valid name.
    pub provider: Option<ProviderName>,
}

/// The `provider` member of a JSON body, if the body is an object with a string there.
fn provider_in_body(body: &[u8]) -> Option<ProviderName> {
    #[derive(serde::Deserialize)]
    struct ProviderMember<'a> {
        #[serde(borrow)]
        provider: Option<std::borrow::Cow<'a, str>>,
    }
    let member: ProviderMember<'_> = serde_json::from_slice(body).ok()?;
    ProviderName::parse(member.provider?.as_ref()).ok()
}

/// A caller authenticated by a proof-of-possession token or a browser session.
pub struct AnyCaller(pub Caller);

/// A person authenticated by a browser session (routes the browser pages read; they only
/// read, so no CSRF token is asked for).
pub struct BrowserCaller(pub Caller);

impl<'a> ApiExtractor<'a> for BrowserCaller {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_browser(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![BROWSER_SCHEME]
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        _options: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        match browser_caller(request).await {
            Ok(Some(caller)) => Ok(Self(caller)),
            Ok(None) => Err(unauthorized("Missing or invalid browser session").into_poem()),
            Err(error) => Err(error.into_poem()),
        }
    }
}

impl<'a> ApiExtractor<'a> for PopCaller {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_pop(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![POP_SCHEME]
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        _options: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        authenticate_pop(request)
            .await
            .map(PopCaller)
            .map_err(ApiError::into_poem)
    }
}

impl<'a> ApiExtractor<'a> for ResolvingCaller {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_pop(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![POP_SCHEME]
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        _options: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let provider = request
            .extensions()
            .get::<RawBody>()
            .and_then(|body| provider_in_body(&body.0));
        let verified = verify_pop(request, provider.as_ref())
            .await
            .map_err(ApiError::into_poem)?;
        Ok(Self { verified, provider })
    }
}

impl<'a> ApiExtractor<'a> for AnyCaller {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_pop(registry);
        register_browser(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![POP_SCHEME, BROWSER_SCHEME]
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        _options: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        authenticate_pop_or_browser(request)
            .await
            .map(AnyCaller)
            .map_err(ApiError::into_poem)
    }
}
