//! The dashboard as a person uses it, over HTTP: what each page shows the signed-in person,
//! that it checks what the API route it mirrors checks, and that nothing anyone typed can
//! inject markup or hide text.

use serde_json::json;

use crate::support;
use support::{Browser, Daemon};

const KEY: &str = "sk-proj-dashboardabcdefghijklmnopqrstuvwxyz0123";

/// The rows of the page's tables' bodies (the header row is in `<thead>`).
fn body_rows(html: &str) -> usize {
    html.split("<tbody>")
        .skip(1)
        .map(|table| table.split("</tbody>").next().unwrap_or("").matches("<tr>").count())
        .sum()
}

/// The `href` of the link whose text is `label`.
fn link(html: &str, label: &str) -> Option<String> {
    let end = html.find(&format!(">{label}</a>"))?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    let href = &html[start..];
    Some(href[..href.find('"')?].replace("&#38;", "&").replace("&amp;", "&"))
}

#[tokio::test]
async fn the_dashboard_shows_agents_connections_and_recent_events_without_secrets() {
    let daemon = Daemon::start().await;
    let (agent, mut browser) = daemon.claimed_agent("dash-agent", "dash@example.com").await;
    agent.store_openai_key(&daemon, "default", KEY).await;

    let home = browser.get(&daemon, "/").await.expect(200);
    let html = home.text();
    assert!(
        home.headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|csp| csp.contains("default-src 'none'")),
        "the dashboard keeps the pages' CSP"
    );
    assert!(
        html.contains("<a href=\"/\" aria-current=\"page\">Dashboard</a>"),
        "{html}"
    );
    assert!(html.contains("<a href=\"/audit/\">Audit log</a>"), "{html}");
    assert!(html.contains("dash@example.com"), "who is signed in");
    assert!(html.contains("<code>dash-agent</code>"), "the claimed agent");
    assert_eq!(
        link(&html, "Audit log").as_deref(),
        Some("/audit/"),
        "the sidebar's link comes first"
    );
    assert!(html.contains("/audit/?identity=dash-agent"), "the agent's activity");
    assert!(html.contains("openai") && html.contains("(default)"), "the connection");
    assert!(
        html.contains("api_key") && html.contains("connected"),
        "its type and status"
    );
    assert!(
        html.contains("Recent activity") && html.contains("claim"),
        "recent events"
    );
    assert!(!html.contains(KEY), "no secret on the dashboard");

    let signed_out = Browser::default().get(&daemon, "/").await.expect(303);
    assert!(signed_out.location().starts_with("/login"), "{}", signed_out.location());
}

#[tokio::test]
async fn the_audit_log_shows_what_the_api_shows_the_same_person_a_page_at_a_time() {
    let daemon = Daemon::start().await;
    // The first person is the admin.
    let (admin_agent, mut admin) = daemon
        .claimed_agent("audit-admin-agent", "audit-admin@example.com")
        .await;
    let (agent, mut person) = daemon.claimed_agent("audit-agent", "audit-person@example.com").await;
    for n in 0..3 {
        agent
            .post(
                &daemon,
                "/api/audit/events",
                json!({"event": "proxy_no_credentials", "provider": "github", "connection": format!("g{n}")}),
            )
            .await
            .expect(200);
    }
    for n in 0..60 {
        agent
            .post(
                &daemon,
                "/api/audit/events",
                json!({"event": "proxy_deny", "provider": "openai", "connection": format!("c{n}")}),
            )
            .await
            .expect(200);
    }
    admin_agent
        .post(&daemon, "/api/audit/events", json!({"event": "admin_only_event"}))
        .await
        .expect(200);

    let first = person.get(&daemon, "/audit/").await.expect(200);
    let html = first.text();
    assert!(html.contains("<a href=\"/audit/\" aria-current=\"page\">Audit log</a>"));
    assert!(html.contains("Your events and your agents'"), "{html}");
    assert_eq!(body_rows(&html), 50, "a page holds 50 events");
    assert!(html.contains("openai / c59"), "newest first");
    assert!(!html.contains("admin_only_event"), "not another principal's events");
    let older = link(&html, "Older events").expect("a link to the next page");
    let second = person.get(&daemon, &older).await.expect(200).text();
    assert!(
        second.contains("openai / c9<") && !second.contains("openai / c59"),
        "the next page continues"
    );
    assert!(link(&second, "Newest events").is_some());
    // The API shows the same person the same events.
    let api = person
        .api(
            &daemon,
            poem::http::Method::GET,
            "/api/audit/events?limit=500",
            None,
            None,
        )
        .await
        .expect(200)
        .json();
    let api_events = api["entries"].as_array().map_or(0, Vec::len);
    assert_eq!(body_rows(&html) + body_rows(&second), api_events);

    // Filters by provider and by event kind, with a smaller page whose links keep them.
    let github = person.get(&daemon, "/audit/?provider=github").await.expect(200).text();
    assert_eq!(body_rows(&github), 3, "{github}");
    assert!(github.contains("github / g2") && !github.contains("openai /"));
    assert!(github.contains("value=\"github\""), "the filter stays in the form");
    let denials = person
        .get(&daemon, "/audit/?event=proxy_deny&limit=10")
        .await
        .expect(200)
        .text();
    assert_eq!(body_rows(&denials), 10);
    assert!(
        !denials.contains("<code>proxy_no_credentials</code>") && !denials.contains("<code>identity.claimed</code>")
    );
    let older_denials = link(&denials, "Older events").expect("a next page");
    assert!(
        older_denials.contains("event=proxy_deny") && older_denials.contains("limit=10"),
        "{older_denials}"
    );
    let next_denials = person.get(&daemon, &older_denials).await.expect(200).text();
    assert_eq!(body_rows(&next_denials), 10);
    assert!(next_denials.contains("openai / c49<") && !next_denials.contains("openai / c59<"));
    let api_github = person
        .api(
            &daemon,
            poem::http::Method::GET,
            "/api/audit/events?provider=github&event=proxy_no_credentials",
            None,
            None,
        )
        .await
        .expect(200)
        .json();
    assert_eq!(api_github["entries"].as_array().map_or(0, Vec::len), 3);

    // Filtering by one's own agent works; by someone else's is refused next to the field,
    // with what was typed kept, as the API refuses it.
    let mine = person
        .get(&daemon, "/audit/?identity=audit-agent")
        .await
        .expect(200)
        .text();
    assert!(mine.contains("value=\"audit-agent\""));
    assert!(!mine.contains("role=\"alert\""), "{mine}");
    let theirs = person
        .get(&daemon, "/audit/?identity=audit-admin-agent")
        .await
        .expect(200)
        .text();
    assert!(theirs.contains("You have no agent with this handle."), "{theirs}");
    assert!(theirs.contains("value=\"audit-admin-agent\""), "what was typed is kept");
    assert!(theirs.contains("aria-invalid=\"true\""));
    assert!(!theirs.contains("admin_only_event"));
    person
        .api(
            &daemon,
            poem::http::Method::GET,
            "/api/audit/events?identity=audit-admin-agent",
            None,
            None,
        )
        .await
        .expect(403);

    // The admin sees everyone's.
    let everyone = admin.get(&daemon, "/audit/").await.expect(200).text();
    assert!(everyone.contains("Every principal's events"), "{everyone}");
    assert!(everyone.contains("admin_only_event"));
    let filtered = admin
        .get(&daemon, "/audit/?identity=audit-agent")
        .await
        .expect(200)
        .text();
    assert!(filtered.contains("proxy_deny") && !filtered.contains("admin_only_event"));

    // A broken page link says so and shows the newest events.
    let broken = person
        .get(&daemon, "/audit/?cursor=not-a-cursor")
        .await
        .expect(200)
        .text();
    assert!(broken.contains("That page link is not valid any more"), "{broken}");
    assert!(broken.contains("openai / c59"));

    let signed_out = Browser::default().get(&daemon, "/audit/?identity=x").await.expect(303);
    assert_eq!(signed_out.location(), "/login?next=%2Faudit%3Fidentity%3Dx");
}

#[tokio::test]
async fn text_from_events_cannot_inject_markup_or_hide_characters() {
    let daemon = Daemon::start().await;
    let (agent, mut person) = daemon.claimed_agent("escape-agent", "escape@example.com").await;
    agent
        .post(
            &daemon,
            "/api/audit/events",
            json!({
                "event": "proxy_deny",
                "provider": "openai",
                "connection": "<script>alert(1)</script>work\u{202E}txt.exe",
                "status": "<img src=x onerror=alert(2)>",
            }),
        )
        .await
        .expect(200);
    for path in ["/", "/audit/"] {
        let html = person.get(&daemon, path).await.expect(200).text();
        assert!(!html.contains("<script>alert"), "{path}: {html}");
        assert!(!html.contains("<img"), "{path}");
        assert!(
            !html.contains('\u{202E}'),
            "{path}: a direction override reached the page"
        );
        assert!(html.contains("\\u{202E}"), "{path}: it is shown as an escape");
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{path}");
    }
}

/// The reference's dashboard spells its pages with a trailing slash (`/login/`, `/audit/`)
/// and links use both forms: each page answers either way, the API keeps exact paths.
#[tokio::test]
async fn every_page_answers_with_or_without_a_trailing_slash() {
    let daemon = Daemon::start().await;
    let (agent, mut person) = daemon.claimed_agent("slash-agent", "slash@example.com").await;
    for path in ["/audit", "/audit/", "/audit/?identity=slash-agent", "/login/", "/"] {
        let reply = person.get(&daemon, path).await;
        assert!(
            reply.status.is_success() || reply.status.is_redirection(),
            "{path}: {}",
            reply.status
        );
    }
    let filtered = person
        .get(&daemon, "/audit/?identity=slash-agent")
        .await
        .expect(200)
        .text();
    assert!(
        filtered.contains("value=\"slash-agent\""),
        "the query survives the rewrite"
    );
    agent.get(&daemon, "/api/whoami/").await.expect(404);
    agent.get(&daemon, "/api/whoami").await.expect(200);
}

#[tokio::test]
async fn agents_are_listed_for_their_owner_and_admins_and_a_lost_claim_link_is_recovered() {
    let daemon = Daemon::start().await;
    let (_, mut admin) = daemon
        .claimed_agent("fleet-admin-agent", "fleet-admin@example.com")
        .await;
    let (_, mut person) = daemon.claimed_agent("fleet-agent", "fleet-person@example.com").await;
    let (_, mut stranger) = daemon.claimed_agent("other-agent", "stranger@example.com").await;
    let unclaimed = support::Agent::new("lost-link-agent");
    unclaimed.register(&daemon).await;

    let mine = person.get(&daemon, "/agents/").await.expect(200).text();
    assert!(mine.contains("<a href=\"/agents/\" aria-current=\"page\">Agents</a>"));
    assert!(mine.contains("fleet-agent") && !mine.contains("other-agent") && !mine.contains("fleet-admin-agent"));
    let everyone = admin.get(&daemon, "/agents/").await.expect(200).text();
    for handle in ["fleet-agent", "other-agent", "fleet-admin-agent"] {
        assert!(everyone.contains(handle), "{handle}: {everyone}");
    }
    assert!(everyone.contains("stranger@example.com"), "an admin sees the owner");
    let searched = admin.get(&daemon, "/agents/?q=OTHER").await.expect(200).text();
    assert!(searched.contains("other-agent") && !searched.contains("fleet-agent<"));
    assert!(searched.contains("value=\"OTHER\""), "the search stays in the field");

    // The detail: the owner and admins see it, anyone else is told it does not exist, as the
    // API tells them.
    let detail = person
        .get(&daemon, "/agents/detail/?handle=fleet-agent")
        .await
        .expect(200)
        .text();
    assert!(detail.contains("did:key:z"), "{detail}");
    assert!(detail.contains("fleet-person@example.com") && detail.contains("claimed"));
    assert!(detail.contains("vault_"), "the agent's vault: {detail}");
    assert!(detail.contains("Recent activity"));
    let refused = stranger
        .get(&daemon, "/agents/detail?handle=fleet-agent")
        .await
        .expect(404)
        .text();
    assert!(refused.contains("Identity not found") && !refused.contains("did:key"));
    stranger
        .api(
            &daemon,
            poem::http::Method::GET,
            "/api/identities/fleet-agent/detail",
            None,
            None,
        )
        .await
        .expect(404);
    admin
        .get(&daemon, "/agents/detail?handle=fleet-agent")
        .await
        .expect(200);

    // A lost claim link: only an admin may issue a new one, with the session's CSRF token.
    let lost = admin
        .get(&daemon, "/agents/detail?handle=lost-link-agent")
        .await
        .expect(200)
        .text();
    assert!(lost.contains("Issue a new claim link"), "{lost}");
    let csrf = support::hidden_field(&lost, "csrf_token");
    let forged = admin
        .post_form(&daemon, "/agents/claim-link", &[("handle", "lost-link-agent")])
        .await;
    assert_eq!(forged.status.as_u16(), 403, "no CSRF token, no link");
    let issued = admin
        .post_form(
            &daemon,
            "/agents/claim-link",
            &[("handle", "lost-link-agent"), ("csrf_token", &csrf)],
        )
        .await
        .expect(200)
        .text();
    assert!(
        issued.contains("A new claim link") && issued.contains("/claim"),
        "{issued}"
    );
    let person_page = person.get(&daemon, "/agents/").await.expect(200).text();
    let person_csrf = support::hidden_field(&person_page, "csrf_token");
    let not_admin = person
        .post_form(
            &daemon,
            "/agents/claim-link",
            &[("handle", "lost-link-agent"), ("csrf_token", &person_csrf)],
        )
        .await;
    assert_eq!(not_admin.status.as_u16(), 403);
    assert!(
        !person
            .get(&daemon, "/agents/detail?handle=fleet-agent")
            .await
            .text()
            .contains("Issue a new claim link")
    );
}

#[tokio::test]
async fn connections_are_managed_in_the_browser_and_secrets_stay_with_their_owner() {
    let daemon = Daemon::start().await;
    let (admin_agent, mut admin) = daemon.claimed_agent("conn-admin-agent", "conn-admin@example.com").await;
    let (agent, mut person) = daemon.claimed_agent("conn-agent", "conn-person@example.com").await;
    const WORK_KEY: &str = "sk-proj-workworkworkworkworkworkworkwork0123";
    const ADMIN_KEY: &str = "sk-proj-adminadminadminadminadminadmin0123";
    agent.store_openai_key(&daemon, "default", KEY).await;
    agent.store_openai_key(&daemon, "work", WORK_KEY).await;
    admin_agent.store_openai_key(&daemon, "default", ADMIN_KEY).await;

    let list = person.get(&daemon, "/connections/").await.expect(200).text();
    assert!(list.contains("<a href=\"/connections/\" aria-current=\"page\">Connections</a>"));
    assert!(list.contains("OpenAI") && list.contains("<code>work</code>") && list.contains("(default)"));
    assert!(!list.contains(KEY) && !list.contains(WORK_KEY), "no secret in the list");
    let searched = person.get(&daemon, "/connections/?q=WORK").await.expect(200).text();
    assert!(searched.contains("<code>work</code>") && !searched.contains("<code>default</code>"));

    // The detail page holds no secret until its owner asks, with the session's CSRF token.
    let detail = person
        .get(&daemon, "/connections/detail?provider=openai&connection=work")
        .await
        .expect(200)
        .text();
    assert!(detail.contains("api_key") && detail.contains("connected"), "{detail}");
    assert!(!detail.contains(WORK_KEY));
    let csrf = support::hidden_field(&detail, "csrf_token");
    let fields = [
        ("provider", "openai"),
        ("connection", "work"),
        ("csrf_token", csrf.as_str()),
    ];
    let revealed = person
        .post_form(&daemon, "/connections/reveal", &fields)
        .await
        .expect(200)
        .text();
    assert!(revealed.contains(WORK_KEY), "the owner sees the secret after asking");
    person
        .post_form(
            &daemon,
            "/connections/reveal",
            &[("provider", "openai"), ("connection", "work")],
        )
        .await
        .expect(403);

    // Make it the default: a redirect back with a message, and the API agrees.
    let moved = person
        .post_form(&daemon, "/connections/default", &fields)
        .await
        .expect(303);
    let after = person.get(&daemon, &moved.location()).await.expect(200).text();
    assert!(after.contains("It is now the default connection"), "{after}");
    let resolved = agent
        .post(&daemon, "/api/credentials/resolve", json!({"provider": "openai"}))
        .await
        .expect(200)
        .json();
    assert_eq!(resolved["connection"], "work");

    // Only an admin's own connection can be made global; then everyone sees it listed.
    assert!(!after.contains("Make it global"), "not offered to a non-admin");
    person
        .post_form(&daemon, "/connections/global", &fields)
        .await
        .expect(403);
    let admin_detail = admin
        .get(&daemon, "/connections/detail?provider=openai&connection=default")
        .await
        .expect(200)
        .text();
    let admin_csrf = support::hidden_field(&admin_detail, "csrf_token");
    let admin_fields = [
        ("provider", "openai"),
        ("connection", "default"),
        ("csrf_token", admin_csrf.as_str()),
    ];
    admin
        .post_form(&daemon, "/connections/global", &admin_fields)
        .await
        .expect(303);
    let listed = person.get(&daemon, "/connections/").await.expect(200).text();
    let global_section = listed.split("<h2>Global</h2>").nth(1).unwrap_or_default();
    assert!(global_section.contains("<code>default</code>"), "{listed}");
    assert!(!listed.contains(ADMIN_KEY));

    // An admin viewing the person's connection sees everything but the secret, even asking.
    let principal = person
        .api(&daemon, poem::http::Method::GET, "/api/whoami", None, None)
        .await
        .expect(200)
        .json()["principal_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let theirs = admin
        .get(
            &daemon,
            &format!("/connections/detail?provider=openai&connection=work&principal={principal}"),
        )
        .await
        .expect(200)
        .text();
    assert!(theirs.contains("Its secret values are not shown"), "{theirs}");
    assert!(!theirs.contains("Reveal secret") && !theirs.contains(WORK_KEY));
    let asked = admin
        .post_form(
            &daemon,
            "/connections/reveal",
            &[
                ("provider", "openai"),
                ("connection", "work"),
                ("principal", principal.as_str()),
                ("csrf_token", admin_csrf.as_str()),
            ],
        )
        .await
        .expect(200)
        .text();
    assert!(
        !asked.contains(WORK_KEY),
        "an admin never sees another principal's secret"
    );
    // A person cannot look at another principal's connection at all.
    let admin_principal = admin
        .api(&daemon, poem::http::Method::GET, "/api/whoami", None, None)
        .await
        .expect(200)
        .json()["principal_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    person
        .get(
            &daemon,
            &format!("/connections/detail?provider=openai&connection=default&principal={admin_principal}"),
        )
        .await
        .expect(403);

    // Unset global, then log out of a connection.
    admin
        .post_form(&daemon, "/connections/global/unset", &admin_fields)
        .await
        .expect(303);
    let listed = person.get(&daemon, "/connections/").await.expect(200).text();
    assert!(listed.contains("No global connections."));
    let gone = person
        .post_form(&daemon, "/connections/logout", &fields)
        .await
        .expect(303);
    assert_eq!(gone.location(), "/connections/?done=logout");
    let listed = person
        .get(&daemon, "/connections/?done=logout")
        .await
        .expect(200)
        .text();
    assert!(listed.contains("Logged out of the connection.") && !listed.contains("<code>work</code>"));
    assert!(
        person
            .get(&daemon, "/connections/detail?provider=Open%E2%80%8BAI&connection=work")
            .await
            .expect(404)
            .text()
            .contains("\\u{200B}"),
        "an invalid name is not found and shown escaped"
    );
}

#[tokio::test]
async fn the_provider_catalog_connects_and_lets_an_admin_configure_and_revoke() {
    let daemon = Daemon::start().await;
    let (_, mut admin) = daemon.claimed_agent("cat-admin-agent", "cat-admin@example.com").await;
    let (agent, mut person) = daemon.claimed_agent("cat-agent", "cat-person@example.com").await;
    agent.store_openai_key(&daemon, "default", KEY).await;

    let catalog = person.get(&daemon, "/providers/").await.expect(200).text();
    assert!(catalog.contains("<a href=\"/providers/\" aria-current=\"page\">Providers</a>"));
    assert!(catalog.contains("OpenAI") && catalog.contains("GitHub"));
    let oauth_only = person.get(&daemon, "/providers/?type=oauth2").await.expect(200).text();
    assert!(
        oauth_only.contains("GitHub") && !oauth_only.contains(">OpenAI<"),
        "{oauth_only}"
    );
    assert!(oauth_only.contains("value=\"oauth2\" selected"));
    let searched = person.get(&daemon, "/providers/?q=linea").await.expect(200).text();
    assert!(searched.contains("Linear") && !searched.contains("GitHub"));

    // Connect from the catalog: an API-key provider goes to the key form.
    let detail = person
        .get(&daemon, "/providers/detail?provider=openai")
        .await
        .expect(200)
        .text();
    assert!(
        detail.contains("Connect OpenAI") && detail.contains("<code>default</code>"),
        "{detail}"
    );
    assert!(
        !detail.contains("OAuth client") && !detail.contains("Revoke everywhere"),
        "admins only"
    );
    let csrf = support::hidden_field(&detail, "csrf_token");
    let started = person
        .post_form(
            &daemon,
            "/api/auth/providers/openai/connect",
            &[("connection", "second"), ("csrf_token", &csrf)],
        )
        .await
        .expect(303);
    assert!(
        started.location().starts_with("/auth/input?session="),
        "{}",
        started.location()
    );
    // Connecting one that is already connected changes nothing and says so on its page.
    let again = person
        .post_form(
            &daemon,
            "/api/auth/providers/openai/connect",
            &[("connection", "default"), ("csrf_token", &csrf)],
        )
        .await
        .expect(303);
    assert_eq!(
        again.location(),
        "/connections/detail?provider=openai&connection=default&done=already"
    );
    let told = person.get(&daemon, &again.location()).await.expect(200).text();
    assert!(told.contains("Already connected: nothing changed."), "{told}");
    // A connection name that is not allowed comes back next to the field, as typed.
    let refused = person
        .post_form(
            &daemon,
            "/api/auth/providers/openai/connect",
            &[("connection", "w\u{00F6}rk<b>"), ("csrf_token", &csrf)],
        )
        .await
        .expect(422)
        .text();
    assert!(refused.contains("id=\"connect-error\""), "{refused}");
    assert!(
        refused.contains("value=\"w\u{00F6}rk&#60;b&#62;\""),
        "the name as typed: {refused}"
    );

    // A person who is not an admin cannot change a provider.
    person
        .post_form(
            &daemon,
            "/providers/configure",
            &[("provider", "linear"), ("client_id", "x"), ("csrf_token", &csrf)],
        )
        .await
        .expect(403);

    // An admin sets an OAuth client: the secret is write-only.
    let linear = admin
        .get(&daemon, "/providers/detail?provider=linear")
        .await
        .expect(200)
        .text();
    assert!(
        linear.contains("/api/auth/callback/oauth"),
        "the callback URL to register"
    );
    let admin_csrf = support::hidden_field(&linear, "csrf_token");
    let saved = admin
        .post_form(
            &daemon,
            "/providers/configure",
            &[
                ("provider", "linear"),
                ("client_id", "linear-client-id"),
                ("client_secret", "linear-client-secret-value"),
                ("scopes", "read,write"),
                ("csrf_token", &admin_csrf),
            ],
        )
        .await
        .expect(303);
    let after = admin.get(&daemon, &saved.location()).await.expect(200).text();
    assert!(after.contains("Client settings saved."), "{after}");
    assert!(after.contains("value=\"linear-client-id\"") && after.contains("value=\"read,write\""));
    assert!(
        !after.contains("linear-client-secret-value"),
        "the secret never comes back"
    );
    assert!(after.contains("stored; leave empty to keep it"));

    // Revoking everywhere needs the box ticked, then logs everyone out.
    let unconfirmed = admin
        .post_form(
            &daemon,
            "/providers/revoke",
            &[("provider", "openai"), ("csrf_token", &admin_csrf)],
        )
        .await
        .expect(200)
        .text();
    assert!(unconfirmed.contains("Nothing was revoked"));
    let openai_admin = admin
        .get(&daemon, "/providers/detail?provider=openai")
        .await
        .expect(200)
        .text();
    assert!(
        openai_admin.contains("cat-person@example.com"),
        "everyone's usage: {openai_admin}"
    );
    admin
        .post_form(
            &daemon,
            "/providers/revoke",
            &[("provider", "openai"), ("confirm", "yes"), ("csrf_token", &admin_csrf)],
        )
        .await
        .expect(303);
    agent
        .post(&daemon, "/api/credentials/resolve", json!({"provider": "openai"}))
        .await
        .expect(404);
}

/// The `setup` token in a sign-up link shown on a page.
fn setup_token_in(html: &str) -> String {
    let start = html.find("setup=").expect("a sign-up link") + "setup=".len();
    html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// A daemon with open sign-up off, and its first admin (provisioned as `authsome init` does)
/// signed up in a browser from the setup link.
async fn closed_sign_up_with_admin(email: &str) -> (Daemon, Browser) {
    let daemon = Daemon::start_with(&[("AUTHSOME_OPEN_SIGNUP", "off")]).await;
    let admin_email = authsome_domain::Email::parse(email).expect("email");
    let token = authsome_services::accounts::provision_admin(&daemon.state.registries, &admin_email, 3600)
        .await
        .expect("provision")
        .expect("a setup token");
    let mut admin = Browser::default();
    admin.sign_up_with_setup(&daemon, email, &token).await.expect(303);
    (daemon, admin)
}

#[tokio::test]
async fn settings_show_the_account_and_an_admin_invites_people_while_sign_up_is_closed() {
    let (daemon, mut admin) = closed_sign_up_with_admin("boss@example.com").await;

    let settings = admin.get(&daemon, "/settings/").await.expect(200).text();
    assert!(settings.contains("<a href=\"/settings/\" aria-current=\"page\">Settings</a>"));
    assert!(
        settings.contains("boss@example.com") && settings.contains("vault_"),
        "{settings}"
    );
    assert!(settings.contains("AES-256-GCM"), "the encryption mode");
    assert!(settings.contains("authsome 0.7.2"), "the protocol version");
    assert!(settings.contains("Sign-up is closed on this server"));

    // A refused invitation keeps what was typed, next to the field.
    let csrf = support::hidden_field(&settings, "csrf_token");
    let refused = admin
        .post_form(
            &daemon,
            "/settings/invitations",
            &[("email", "not-an-email"), ("role", "admin"), ("csrf_token", &csrf)],
        )
        .await
        .expect(200)
        .text();
    assert!(refused.contains("Enter an email address"), "{refused}");
    assert!(refused.contains("value=\"not-an-email\"") && refused.contains("value=\"admin\" selected"));
    let already = admin
        .post_form(
            &daemon,
            "/settings/invitations",
            &[("email", "boss@example.com"), ("role", "user"), ("csrf_token", &csrf)],
        )
        .await
        .expect(200)
        .text();
    assert!(already.contains("This email already has an account."));

    // An invitation: a one-time link that signs the invited person up with the given role.
    let invited = admin
        .post_form(
            &daemon,
            "/settings/invitations",
            &[
                ("email", "newcomer@example.com"),
                ("role", "admin"),
                ("csrf_token", &csrf),
            ],
        )
        .await
        .expect(200)
        .text();
    assert!(
        invited.contains("Send this sign-up link to newcomer@example.com"),
        "{invited}"
    );
    assert!(invited.contains("invited, not signed up yet"));
    let link_token = setup_token_in(&invited);
    let mut stranger = Browser::default();
    stranger
        .sign_up(&daemon, "stranger@example.com", "a long enough password", "/")
        .await;
    stranger.get(&daemon, "/settings/").await.expect(303);
    assert!(
        stranger
            .get(&daemon, "/settings/")
            .await
            .location()
            .starts_with("/login"),
        "sign-up stays closed without an invitation"
    );
    let mut newcomer = Browser::default();
    newcomer
        .sign_up_with_setup(&daemon, "newcomer@example.com", &link_token)
        .await
        .expect(303);
    let theirs = newcomer.get(&daemon, "/settings/").await.expect(200).text();
    assert!(
        theirs.contains("newcomer@example.com") && theirs.contains("Principals"),
        "invited as admin"
    );
    let mut again = Browser::default();
    again
        .sign_up_with_setup(&daemon, "newcomer@example.com", &link_token)
        .await;
    assert!(
        again.get(&daemon, "/settings/").await.location().starts_with("/login"),
        "the link works once"
    );

    // Without the session's CSRF token nothing is created.
    admin
        .post_form(
            &daemon,
            "/settings/invitations",
            &[("email", "someone@example.com"), ("role", "user")],
        )
        .await
        .expect(403);

    // The password form on the settings page: a refusal comes back to it.
    let wrong = admin
        .post_form(
            &daemon,
            "/api/auth/password",
            &[
                ("current_password", "not the password"),
                ("new_password", "another long password"),
                ("next", "/settings/"),
                ("csrf_token", &csrf),
            ],
        )
        .await
        .expect(303);
    assert!(
        wrong.location().starts_with("/settings/?password_error="),
        "{}",
        wrong.location()
    );
    let shown = admin.get(&daemon, &wrong.location()).await.expect(200).text();
    assert!(shown.contains("Invalid current password"), "{shown}");

    // Sign out everywhere ends every session of the account.
    let mut second_browser = Browser::default();
    second_browser
        .sign_in(&daemon, "boss@example.com", "a long enough password")
        .await
        .expect(303);
    admin
        .post_form(&daemon, "/settings/sign-out-everywhere", &[("csrf_token", &csrf)])
        .await
        .expect(303);
    second_browser.get(&daemon, "/settings/").await.expect(303);
    admin.get(&daemon, "/settings/").await.expect(303);
}

#[tokio::test]
async fn an_admin_registers_edits_and_deletes_a_custom_provider_with_errors_on_the_form() {
    let daemon = Daemon::start().await;
    let (_, mut admin) = daemon
        .claimed_agent("custom-admin-agent", "custom-admin@example.com")
        .await;
    let (_, mut person) = daemon.claimed_agent("custom-agent", "custom-person@example.com").await;
    person.get(&daemon, "/providers/new").await.expect(403);

    let form = admin.get(&daemon, "/providers/new").await.expect(200).text();
    assert!(
        form.contains("&#34;auth_type&#34;: &#34;api_key&#34;"),
        "an example to start from: {form}"
    );
    let csrf = support::hidden_field(&form, "csrf_token");

    // Not JSON, then JSON the schema refuses: the form comes back with the text as typed.
    let broken = "{\"name\": \"acme-api\", ";
    let refused = admin
        .post_form(
            &daemon,
            "/providers/new",
            &[("definition", broken), ("csrf_token", &csrf)],
        )
        .await
        .expect(422)
        .text();
    assert!(refused.contains("This is not valid JSON"), "{refused}");
    assert!(
        refused.contains("{&#34;name&#34;: &#34;acme-api&#34;, "),
        "what was typed is kept"
    );
    let incomplete = r#"{"name": "acme-api", "display_name": "Acme"}"#;
    let refused = admin
        .post_form(
            &daemon,
            "/providers/new",
            &[("definition", incomplete), ("csrf_token", &csrf)],
        )
        .await
        .expect(422)
        .text();
    assert!(refused.contains("aria-invalid=\"true\""), "{refused}");

    let definition = r#"{
      "name": "acme-api",
      "display_name": "Acme API",
      "auth_type": "api_key",
      "flow": "api_key",
      "api_key": {"header_name": "X-Api-Key"},
      "api_url": "api.acme.example"
    }"#;
    let created = admin
        .post_form(
            &daemon,
            "/providers/new",
            &[("definition", definition), ("csrf_token", &csrf)],
        )
        .await
        .expect(303);
    let detail = admin.get(&daemon, &created.location()).await.expect(200).text();
    assert!(
        detail.contains("Provider registered.") && detail.contains("Acme API"),
        "{detail}"
    );
    assert!(detail.contains("custom") && detail.contains("Edit or delete this definition"));
    let catalog = person.get(&daemon, "/providers/?q=acme").await.expect(200).text();
    assert!(catalog.contains("Acme API") && catalog.contains("custom"));

    // Edit: the stored definition comes back in the form; the name cannot change.
    let edit = admin
        .get(&daemon, "/providers/edit?provider=acme-api")
        .await
        .expect(200)
        .text();
    assert!(edit.contains("Acme API"));
    let renamed = definition.replace("\"acme-api\"", "\"other-name\"");
    let refused = admin
        .post_form(
            &daemon,
            "/providers/edit",
            &[
                ("provider", "acme-api"),
                ("definition", &renamed),
                ("csrf_token", &csrf),
            ],
        )
        .await
        .expect(422)
        .text();
    assert!(refused.contains("must match"), "{refused}");
    let retitled = definition.replace("Acme API", "Acme Cloud API");
    let saved = admin
        .post_form(
            &daemon,
            "/providers/edit",
            &[
                ("provider", "acme-api"),
                ("definition", &retitled),
                ("csrf_token", &csrf),
            ],
        )
        .await
        .expect(303);
    let after = admin.get(&daemon, &saved.location()).await.expect(200).text();
    assert!(after.contains("Definition saved.") && after.contains("Acme Cloud API"));
    admin.get(&daemon, "/providers/edit?provider=openai").await.expect(404);

    // Delete needs the box ticked.
    let kept = admin
        .post_form(
            &daemon,
            "/providers/delete",
            &[("provider", "acme-api"), ("csrf_token", &csrf)],
        )
        .await
        .expect(303);
    assert!(kept.location().ends_with("done=kept"));
    let deleted = admin
        .post_form(
            &daemon,
            "/providers/delete",
            &[("provider", "acme-api"), ("confirm", "yes"), ("csrf_token", &csrf)],
        )
        .await
        .expect(303);
    assert_eq!(deleted.location(), "/providers/?done=deleted");
    let catalog = admin.get(&daemon, &deleted.location()).await.expect(200).text();
    assert!(catalog.contains("Provider deleted") && !catalog.contains("Acme Cloud API"));
}

/// Invitations live in the one shared server document; made at the same moment (by admins on
/// different replicas, or here by concurrent requests), every link must still work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_made_at_the_same_moment_all_work() {
    let (daemon, mut admin) = closed_sign_up_with_admin("chief@example.com").await;
    let settings = admin.get(&daemon, "/settings/").await.expect(200).text();
    let csrf = support::hidden_field(&settings, "csrf_token");

    let daemon = std::sync::Arc::new(daemon);
    let mut inviting = tokio::task::JoinSet::new();
    for n in 0..8 {
        let (daemon, mut admin, csrf) = (daemon.clone(), admin.clone(), csrf.clone());
        inviting.spawn(async move {
            let email = format!("invitee-{n}@example.com");
            let page = admin
                .post_form(
                    &daemon,
                    "/settings/invitations",
                    &[("email", &email), ("role", "user"), ("csrf_token", &csrf)],
                )
                .await
                .expect(200)
                .text();
            (email, setup_token_in(&page))
        });
    }
    let mut invitations = Vec::new();
    while let Some(joined) = inviting.join_next().await {
        invitations.push(joined.expect("an invitation task"));
    }
    assert_eq!(invitations.len(), 8);
    for (email, token) in invitations {
        let mut invitee = Browser::default();
        let signed_up = invitee.sign_up_with_setup(&daemon, &email, &token).await.expect(303);
        assert_eq!(signed_up.location(), "/", "{email}'s link works");
    }
}
