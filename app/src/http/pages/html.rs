//! Rendering the few server-side pages: escaping, one layout with inline styles (no external
//! assets, so the pages work offline and under a strict Content-Security-Policy), and the
//! headers every page carries.

use authsome_domain::visible_text::{Reading, visible};
use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Response};

/// `text` with HTML's special characters escaped, safe inside elements and quoted attributes,
/// and its invisible and direction-changing characters shown as `\u{…}` escapes (so that a
/// U+202E cannot reverse the rest of the page, nor a U+200B hide in a name).
pub fn escape(text: &str) -> String {
    markup_escaped(&visible(text, Reading::Text))
}

/// A name (connection, provider, handle) for display: as [`escape`], and every character
/// outside printable ASCII shown as an escape, so that no name can pass for another
/// (`dеfault` with a Cyrillic `е` reads `d\u{0435}fault`).
pub fn escape_name(text: &str) -> String {
    markup_escaped(&visible(text, Reading::Identifier))
}

fn markup_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            other => out.push(other),
        }
    }
    out
}

pub(super) const STYLE: &str = "\
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f5f6f8;color:#1d2330;margin:0}\
main{max-width:34rem;margin:3rem auto;background:#fff;border:1px solid #dde1e8;border-radius:10px;padding:2rem}\
main.wide{max-width:52rem}\
h1{font-size:1.4rem;margin:0 0 1rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}\
label{display:block;margin:.8rem 0 .3rem;font-weight:600}\
input[type=email],input[type=password],input[type=text],select,textarea{width:100%;box-sizing:border-box;padding:.55rem;border:1px solid #b9c0cc;border-radius:6px;font-size:1rem}\
textarea{font-family:ui-monospace,monospace;font-size:.9rem}\
button{margin-top:1rem;padding:.55rem 1.1rem;border:0;border-radius:6px;background:#2456d3;color:#fff;font-size:1rem;cursor:pointer}\
button.secondary{background:#5b6475}\
.error{background:#fdecec;border:1px solid #f3b5b5;color:#8a1c1c;padding:.6rem;border-radius:6px}\
.notice{background:#eaf4ea;border:1px solid #b6d9b6;color:#1f5a1f;padding:.6rem;border-radius:6px}\
.muted{color:#5b6475;font-size:.9rem}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.35rem;border-bottom:1px solid #e4e7ec}\
code{background:#eef0f4;padding:.1rem .3rem;border-radius:4px}\
nav{display:flex;gap:1rem;align-items:center;justify-content:space-between;margin-bottom:1rem}\
nav form{margin:0}nav button{margin:0}\
section.tab{border-top:1px solid #e4e7ec;margin-top:1.5rem;padding-top:.5rem}\
p.code code{font-size:2rem;letter-spacing:.2rem;padding:.4rem .8rem}\
a.button{display:inline-block;padding:.55rem 1.1rem;border-radius:6px;background:#2456d3;color:#fff;text-decoration:none}\
a:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid #f5b400;outline-offset:2px}\
.skip{position:absolute;left:-999rem}.skip:focus{left:1rem;top:1rem;background:#fff;color:#1d2330;padding:.5rem;z-index:1}\
.shell{display:flex;min-height:100vh}\
.sidebar{display:block;width:13rem;flex:none;background:#1d2330;color:#fff;padding:1.2rem;box-sizing:border-box}\
.sidebar ul{list-style:none;padding:0;margin:0 0 1.5rem}\
.sidebar a{color:#e4e9f4;display:block;padding:.4rem .5rem;border-radius:6px;text-decoration:none}\
.sidebar a[aria-current=page]{background:#2456d3;color:#fff}\
.sidebar .muted{color:#c4cbd8;word-break:break-all}\
.brand{font-weight:700;font-size:1.2rem;margin-top:0}\
main.dashboard{flex:1;max-width:62rem;margin:1.5rem}\
caption{text-align:left;padding:.3rem 0}\
.filters{display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:flex-end;margin-bottom:1rem}\
.filters label{margin:0 0 .3rem}.filters button{margin:0}.filters input[type=text]{max-width:20rem}.filters select{width:auto}\
.filters .field{flex:1 1 11rem}.filters .field input[type=text]{max-width:none}.filters .error{margin:.3rem 0 0}\
form.inline{display:inline}form.inline button{margin:0 0 0 .5rem;padding:.3rem .7rem;font-size:.9rem}\
@media (max-width:40rem){.shell{display:block}.sidebar{width:auto}.sidebar ul{display:flex;flex-wrap:wrap;gap:.3rem}main,main.dashboard{margin:.5rem;padding:1rem}table{display:block;overflow-x:auto}}";

/// A complete page with `title` and `body` (already escaped where needed).
pub fn page(status: StatusCode, title: &str, body: &str, wide: bool) -> Response {
    let class = if wide { " class=\"wide\"" } else { "" };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · authsome</title><style>{STYLE}</style></head><body><main{class}>{body}</main></body></html>",
        escape(title)
    );
    with_page_headers(
        html.with_status(status)
            .with_content_type("text/html; charset=utf-8")
            .into_response(),
    )
}

/// The headers of every page and form response: nothing loads from elsewhere, forms post
/// only here, no framing, no caching, and no `Referer` (claim and setup tokens sit in URLs).
pub fn with_page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `response` with a `Refresh` header, so that the browser reloads it every `seconds` (a
/// page that shows progress without a script).
pub fn refreshing(mut response: Response, seconds: u32) -> Response {
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert("refresh", value);
    }
    response
}

/// A hidden form field.
pub fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_are_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
        );
        assert_eq!(
            hidden("next", "/\"><script>"),
            "<input type=\"hidden\" name=\"next\" value=\"/&quot;&gt;&lt;script&gt;\">"
        );
    }

    #[test]
    fn names_cannot_spoof_and_text_cannot_turn_the_page_around() {
        assert_eq!(escape_name("d\u{0435}fault"), "d\\u{0435}fault");
        assert_eq!(escape_name("work\u{200B}"), "work\\u{200B}");
        assert_eq!(escape_name("<b>"), "&lt;b&gt;");
        assert_eq!(escape("\u{202E}lmth.exe"), "\\u{202E}lmth.exe");
        assert_eq!(escape("jos\u{00E9}@example.com"), "jos\u{00E9}@example.com");
    }
}
