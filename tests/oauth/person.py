#!/usr/bin/env python3
"""A person at a browser, for the OAuth login tests: opens a URL and does what the pages ask.

Usage: person.py URL   (also usable as the BROWSER command that Python's webbrowser runs)

It follows redirects (and `Refresh: 0; url=` pages) with a cookie jar, and on each page submits the form a person would:
the authorization server's sign-in (any login), its consent, its device-code confirmation, and
on authsome-rs's device page it follows the link to the verification page. It stops on a page
with nothing to do, and prints one JSON line: {"url": <last URL>, "status": <last status>,
"pages": [<visited URLs>]}. Standard library only, so any python3 runs it.

Environment:
  PERSON_LOGIN      the account name to sign in with at the authorization server (default "alice")
  PERSON_DENY       when "1", answers the consent form with "no" (an access_denied test)
  PERSON_COOKIE     a "name=value" cookie sent to authsome-rs (the person's dashboard session)
  PERSON_COOKIE_ORIGIN  the origin (scheme://host:port) PERSON_COOKIE is sent to
  PERSON_LOG        a file to append the JSON line to instead of printing it (as a BROWSER
                    command, the script shares the CLI's stdout)
"""

from __future__ import annotations

import html.parser
import http.cookiejar
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request


class Form:
    def __init__(self, action: str, method: str) -> None:
        self.action = action
        self.method = method.upper() or "GET"
        self.fields: list[tuple[str, str]] = []
        self.buttons: list[tuple[str, str]] = []
        self.text = ""


class Page(html.parser.HTMLParser):
    """The forms and links of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get"))
            self.forms.append(self._form)
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif self._form is not None and tag in ("input", "button"):
            kind = a.get("type", "submit" if tag == "button" else "text").lower()
            name = a.get("name", "")
            if kind in ("submit", "image"):
                self._form.buttons.append((name, a.get("value", "")))
            elif name:
                self._form.fields.append((name, a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None

    def handle_data(self, data: str) -> None:
        if self._form is not None:
            self._form.text += data


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: D401 - we follow redirects ourselves
        return None


def main() -> int:
    url = sys.argv[1]
    login = os.environ.get("PERSON_LOGIN", "alice")
    deny = os.environ.get("PERSON_DENY") == "1"
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
    cookie = os.environ.get("PERSON_COOKIE", "")
    cookie_origin = os.environ.get("PERSON_COOKIE_ORIGIN", "").rstrip("/")
    visited: list[str] = []
    method, body = "GET", None
    status = 0
    for _ in range(40):
        visited.append(url)
        request = urllib.request.Request(url, data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        request.add_header("Accept", "text/html")
        if cookie and cookie_origin and url.startswith(cookie_origin + "/"):
            request.add_header("Cookie", cookie)
        try:
            response = opener.open(request, timeout=30)
            status, text = response.status, response.read().decode("utf-8", "replace")
            location = response.headers.get("Location")
            refresh_header = response.headers.get("Refresh")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode("utf-8", "replace")
            location = error.headers.get("Location")
            refresh_header = error.headers.get("Refresh")
        except (urllib.error.URLError, OSError) as error:
            status, text, location, refresh_header = 0, "", None, None
            visited.append(f"error: {error}")
            break
        if status in (301, 302, 303, 307, 308) and location:
            url, method, body = urllib.parse.urljoin(url, location), "GET", None
            continue
        # A page that moves on by itself (`Refresh: 0; url=...`), as a browser follows it.
        refresh = re.match(r"\s*\d+\s*;\s*url=(.+)", refresh_header or "", re.IGNORECASE)
        if refresh:
            url, method, body = urllib.parse.urljoin(url, refresh.group(1).strip()), "GET", None
            continue
        page = Page()
        page.feed(text)
        form = next((f for f in page.forms if f.action or f.fields), None)
        if form is None:
            # authsome-rs's device page links to the verification page: follow it once.
            verify = next((l for l in page.links if "user_code=" in l), None)
            if verify and verify not in visited:
                url, method, body = urllib.parse.urljoin(url, verify), "GET", None
                continue
            break
        fields = list(form.fields)
        names = {name for name, _ in fields}
        if deny and "login" not in names:
            # Refusing: the consent page's Cancel link, rather than its form.
            abort = next((l for l in page.links if "/abort" in l), None)
            if abort:
                url, method, body = urllib.parse.urljoin(url, abort), "GET", None
                continue
        if "login" in names:
            fields = [(n, login if n == "login" else ("secret" if n == "password" else v)) for n, v in fields]
        if "password" in names and "login" not in names:
            fields = [(n, "secret" if n == "password" else v) for n, v in fields]
        if deny and form.buttons:
            # The consent and device-confirmation forms carry an abort button or link.
            aborts = [b for b in form.buttons if b[0] in ("abort", "cancel")]
            if aborts:
                fields.append(aborts[0])
        elif form.buttons and form.buttons[0][0]:
            fields.append(form.buttons[0])
        if deny and "/device" in url and "user_code" in names and "confirm" in names:
            fields = [(n, v) for n, v in fields if n != "confirm"] + [("abort", "yes")]
        action = urllib.parse.urljoin(url, form.action or url)
        encoded = urllib.parse.urlencode(fields).encode()
        if form.method == "GET":
            url, method, body = f"{action}?{encoded.decode()}", "GET", None
        else:
            url, method, body = action, "POST", encoded
    outcome = {"url": url, "status": status, "pages": visited}
    line = json.dumps(outcome)
    if os.environ.get("PERSON_LOG"):
        # As a BROWSER command its stdout is the CLI's, which must stay the CLI's JSON alone.
        with open(os.environ["PERSON_LOG"], "a", encoding="utf-8") as log:
            log.write(line + "\n")
    else:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
