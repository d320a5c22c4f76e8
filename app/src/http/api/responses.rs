//! Per-operation response types: each operation answers `Result<Success, Failure>` where both
//! are its own enums, listing exactly the statuses it can return, each with a description, so
//! that the document (and every client generated from it) knows every answer's shape.
//!
//! `operation_failures!` declares an operation's failure enum: the statuses the operation
//! itself can answer, plus, for an operation that authenticates its caller, the failures of
//! authentication (401, 403, 429). Every failure enum also has 500 and 503. An [`ApiError`] is
//! converted into the enum by its status and body shape; one the operation does not document
//! is logged and answered as an opaque 500, so the document never lies (and the conformance
//! tests, which check every response against the document, make such a gap loud).
//!
//! [`ApiError`]: crate::http::errors::ApiError

/// Declares an operation's failure enum; see the module documentation.
///
/// ```text
/// operation_failures! {
///     /// Why `POST /x` can fail.
///     XFailure authenticated {
///         /// The provider is unknown.
///         404 NotFound(ErrorBody),
///     }
/// }
/// ```
///
/// Every enum has 500 and 503 (`Detail`); `authenticated` adds 401 (`ErrorBody`), 403 and 429
/// (with `Retry-After`), `public_limited` only 429, `public` nothing. Variants listed by the
/// operation must not repeat those statuses.
macro_rules! operation_failures {
    (
        $(#[$meta:meta])*
        $name:ident authenticated { $($variants:tt)* }
    ) => {
        operation_failures!(@enum $(#[$meta])* $name {
            $($variants)*
            /// Not authenticated: the proof-of-possession token (or browser session) is
            /// missing, malformed, expired, replayed or not this request's; or the identity is
            /// not registered. A reference error when the connection holds no credential.
            401 Unauthorized($crate::http::errors::ErrorBody),
            /// Authenticated, but not allowed: the identity is not claimed (or its claim is
            /// pending or revoked), the browser request lacks its CSRF token, or the operation
            /// needs an admin.
            403 Forbidden($crate::http::errors::Detail),
        } TooManyRequests);
    };
    (
        $(#[$meta:meta])*
        $name:ident public { $($variants:tt)* }
    ) => {
        operation_failures!(@enum $(#[$meta])* $name { $($variants)* });
    };
    (
        $(#[$meta:meta])*
        $name:ident public_limited { $($variants:tt)* }
    ) => {
        operation_failures!(@enum $(#[$meta])* $name { $($variants)* } TooManyRequests);
    };
    (
        @enum $(#[$meta:meta])* $name:ident {
            $( $(#[$variant_meta:meta])* $status:literal $variant:ident($body:ty), )*
        } $($limited:ident)?
    ) => {
        $(#[$meta])*
        #[derive(poem_openapi::ApiResponse)]
        pub enum $name {
            $(
                $(#[$variant_meta])*
                #[oai(status = $status)]
                $variant(poem_openapi::payload::Json<$body>),
            )*
            $(
                /// Too many requests from this identity or client address; nothing was done.
                /// Send it again after `Retry-After` seconds.
                #[oai(status = 429)]
                $limited(
                    poem_openapi::payload::Json<$crate::http::errors::Detail>,
                    #[oai(header = "Retry-After")] u64,
                ),
            )?
            /// The server failed; the cause is in its log, never in the answer.
            #[oai(status = 500)]
            Internal(poem_openapi::payload::Json<$crate::http::errors::Detail>),
            /// A storage backend (or the replay cache) did not answer; nothing was done and
            /// the same request may be sent again.
            #[oai(status = 503)]
            Unavailable(poem_openapi::payload::Json<$crate::http::errors::Detail>),
        }

        impl From<$crate::http::errors::ApiError> for $name {
            fn from(error: $crate::http::errors::ApiError) -> Self {
                use $crate::http::errors::DocumentedBody;
                let status = error.status().as_u16();
                $(
                    if status == $status
                        && let Some(body) = <$body as DocumentedBody>::from_failure(&error)
                    {
                        return Self::$variant(poem_openapi::payload::Json(body));
                    }
                )*
                $(
                    if status == 429
                        && let Some(body) = $crate::http::errors::Detail::from_failure(&error)
                    {
                        return Self::$limited(
                            poem_openapi::payload::Json(body),
                            error.retry_after_seconds().unwrap_or(1),
                        );
                    }
                )?
                if status == 503
                    && let Some(body) = $crate::http::errors::Detail::from_failure(&error)
                {
                    return Self::Unavailable(poem_openapi::payload::Json(body));
                }
                if status != 500 {
                    $crate::http::errors::undeclared(stringify!($name), &error);
                }
                Self::Internal(poem_openapi::payload::Json($crate::http::errors::Detail {
                    detail: "Internal Server Error".to_owned(),
                }))
            }
        }

        impl From<authsome_services::ServiceError> for $name {
            fn from(error: authsome_services::ServiceError) -> Self {
                $crate::http::errors::ApiError::from(error).into()
            }
        }

        impl From<authsome_services::AuthsomeError> for $name {
            fn from(error: authsome_services::AuthsomeError) -> Self {
                $crate::http::errors::ApiError::from(error).into()
            }
        }

        impl From<authsome_ports::RegistryError> for $name {
            fn from(error: authsome_ports::RegistryError) -> Self {
                $crate::http::errors::ApiError::from(error).into()
            }
        }

        impl From<authsome_ports::StateError> for $name {
            fn from(error: authsome_ports::StateError) -> Self {
                $crate::http::errors::ApiError::from(error).into()
            }
        }

        impl From<authsome_services::vault::VaultError> for $name {
            fn from(error: authsome_services::vault::VaultError) -> Self {
                $crate::http::errors::ApiError::from(error).into()
            }
        }
    };
}

/// Declares an operation's success enum: the 2xx (or 3xx) answers with their descriptions.
///
/// ```text
/// operation_success! {
///     /// What `POST /x` answers.
///     XSuccess {
///         /// The new thing.
///         200 Created(Thing),
///     }
/// }
/// ```
macro_rules! operation_success {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$variant_meta:meta])* $status:literal $variant:ident($body:ty), )+
        }
    ) => {
        $(#[$meta])*
        #[derive(poem_openapi::ApiResponse)]
        pub enum $name {
            $(
                $(#[$variant_meta])*
                #[oai(status = $status)]
                $variant(poem_openapi::payload::Json<$body>),
            )+
        }
    };
}
