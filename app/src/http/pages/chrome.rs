//! The dashboard's frame around every signed-in page: the sidebar with the sections, who is
//! signed in (and the sign-out form), and the flash message an action left; plus rendering an
//! askama template into a page response with the pages' headers.
//!
//! Templates live in `app/templates/`. askama escapes every value for HTML; the `shown` and
//! `name` filters also make invisible and direction-changing characters visible (as
//! [`html::escape`](super::html::escape) and [`html::escape_name`](super::html::escape_name)
//! do), so that nobody's name can hide text or pass for another.

use askama::Template;
use poem::http::StatusCode;
use poem::{IntoResponse, Response};

use super::failures::failure_page;
use super::html;
use super::signed_in::SignedIn;
use crate::http::errors::ApiError;

/// The dashboard's sections, in sidebar order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    /// `/`: the summary.
    Dashboard,
    /// `/agents/`: the agents.
    Agents,
    /// `/connections/`: the connections.
    Connections,
    /// `/providers/`: the provider catalog.
    Providers,
    /// `/audit/`: the audit log.
    AuditLog,
    /// `/settings/`: the account and the server.
    Settings,
}

impl Section {
    const ALL: [Section; 6] = [
        Section::Dashboard,
        Section::Agents,
        Section::Connections,
        Section::Providers,
        Section::AuditLog,
        Section::Settings,
    ];

    fn label(self) -> &'static str {
        match self {
            Section::Dashboard => "Dashboard",
            Section::Agents => "Agents",
            Section::Connections => "Connections",
            Section::Providers => "Providers",
            Section::AuditLog => "Audit log",
            Section::Settings => "Settings",
        }
    }

    fn href(self) -> &'static str {
        match self {
            Section::Dashboard => "/",
            Section::Agents => "/agents/",
            Section::Connections => "/connections/",
            Section::Providers => "/providers/",
            Section::AuditLog => "/audit/",
            Section::Settings => "/settings/",
        }
    }
}

/// A sidebar entry.
pub(crate) struct NavLink {
    /// Where it goes.
    pub(crate) href: &'static str,
    /// What it says.
    pub(crate) label: &'static str,
    /// Whether it is the page shown.
    pub(crate) current: bool,
}

/// A message an action left for the next page (`?done=` / `?failed=`).
pub(crate) struct Flash {
    /// `notice` or `error`.
    pub(crate) class: &'static str,
    /// What happened.
    pub(crate) message: String,
}

impl Flash {
    /// Something worked.
    pub(crate) fn notice(message: impl Into<String>) -> Self {
        Self {
            class: "notice",
            message: message.into(),
        }
    }
}

/// What the layout shows around a page.
pub(crate) struct Chrome {
    /// The page's title.
    pub(crate) title: String,
    /// The sidebar.
    pub(crate) links: Vec<NavLink>,
    /// The signed-in person's email.
    pub(crate) email: String,
    /// Their role.
    pub(crate) role: &'static str,
    /// Their session's CSRF token, for every form on the page.
    pub(crate) csrf_token: String,
    /// A message from the last action.
    pub(crate) flash: Option<Flash>,
    /// The pages' inline style sheet (allowed by the pages' CSP).
    pub(crate) style: &'static str,
}

impl Chrome {
    /// The frame of a page in `section` for `person`.
    pub(crate) fn new(person: &SignedIn, section: Section, title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            links: Section::ALL
                .iter()
                .map(|&each| NavLink {
                    href: each.href(),
                    label: each.label(),
                    current: each == section,
                })
                .collect(),
            email: person
                .caller
                .email
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            role: person.caller.role.as_str(),
            csrf_token: person.csrf_token.clone(),
            flash: None,
            style: html::STYLE,
        }
    }

    /// With a message from the last action.
    pub(crate) fn with_flash(mut self, flash: Option<Flash>) -> Self {
        self.flash = flash;
        self
    }
}

/// `template` as a page with the pages' headers; a template that cannot render (a bug, never
/// the visitor's doing) is the error page.
pub(crate) fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(markup) => html::with_page_headers(
            markup
                .with_status(status)
                .with_content_type("text/html; charset=utf-8")
                .into_response(),
        ),
        Err(error) => {
            tracing::error!(%error, "a page template failed to render");
            failure_page(ApiError::detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
            ))
        }
    }
}

/// The templates' own filters (askama looks them up as `filters::<name>`).
// `#[askama::filter_fn]` expands each filter into items marked `pub`, whatever the function's
// own visibility says.
#[allow(unreachable_pub)]
pub(crate) mod filters {
    use authsome_domain::visible_text::{Reading, visible};

    /// Text with invisible and direction-changing characters shown as `\u{…}` escapes
    /// (askama then escapes it for HTML).
    #[askama::filter_fn]
    pub(crate) fn shown(value: impl std::fmt::Display, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(visible(&value.to_string(), Reading::Text))
    }

    /// A name (provider, connection, handle, event): every character outside printable ASCII
    /// shown as an escape, so that no name can pass for another.
    #[askama::filter_fn]
    pub(crate) fn name(value: impl std::fmt::Display, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(visible(&value.to_string(), Reading::Identifier))
    }
}

/// A time for people: `2026-12-02 02:50:07 UTC` (seconds kept: audit rows a second apart must
/// read apart). Text that is not a time is shown as it is.
pub(crate) fn readable_time(text: &str) -> String {
    match authsome_domain::Timestamp::parse(text) {
        Ok(time) => readable(time),
        Err(_) => text.to_owned(),
    }
}

/// [`readable_time`] of a timestamp.
pub(crate) fn readable(time: authsome_domain::Timestamp) -> String {
    let form = time.to_json_form();
    let date_and_time: String = form.chars().take(19).collect();
    format!("{} UTC", date_and_time.replacen('T', " ", 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc_to_the_second() {
        assert_eq!(readable_time("2026-11-28T21:56:47.593165Z"), "2026-11-28 21:56:47 UTC");
        assert_eq!(readable_time("2026-11-28T21:56:47+00:00"), "2026-11-28 21:56:47 UTC");
        assert_eq!(readable_time("yesterday"), "yesterday");
    }
}
