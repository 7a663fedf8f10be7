"""A real browser (the OS's Chromium, driven by Playwright) through a tenant's hosted sign-in
(SPEC §6.2), with JavaScript off and on: the authorize URL opens the login page, the form is
filled by its labels and submitted, and the browser lands on the relying party's callback with
the code, the state and the issuer (RFC 9207); the code then exchanges at the token endpoint
with its PKCE verifier. A second authorize in the same browser skips the form (the SSO cookie).
The page's own Content-Security-Policy is in force throughout — Chromium applies its
`form-action` to the redirect the form's post leads to, so the callback's origin must be in it.

The relying party is a real one: a small HTTP server on a free loopback port, registered as the
app's redirect URI, that records what reaches it. (A Playwright route on the callback's origin
would not do: Playwright routes only the first request of a redirect chain, so an authorize
answered at once — a 303 straight to the callback — would go past it.)

With JavaScript on, axe-core (tests/contract/rp/node_modules, installed by scripts/contract)
audits the login page — as served, after a wrong password (its error), and in a tenant's
branding (colours and name) — against WCAG 2 A and AA; a violation of impact serious or
critical fails. axe is evaluated from outside the page (DevTools' evaluation is not the page's
script, so the page's CSP, which allows no script, stays as served).

The platform's issuer (GLOBAL applications) is driven the same way: its email step, its
password step and its choice of organisation, with JavaScript off and on, each page audited.

Also: a tenant that does not exist is an HTML error page (SPEC §6.2), and a single-page app
(public client) finishes its sign-in from its own page — discovery, code exchange and userinfo
as cross-origin fetches from its registered origin (CORS).

Run by scripts/contract, which provides (environment):
  SCAIKEY_BASE_URL        the local server, and its SCAIKEY_PUBLIC_URL
  SCAIKEY_ADMIN_EMAIL     the bootstrapped super admin
  SCAIKEY_ADMIN_PASSWORD
  SCAIKEY_CHROMIUM        the browser (default /usr/bin/chromium)
"""

import base64
import json
import os
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from playwright.sync_api import sync_playwright

from sign_in_world import PASSWORD, make_world, pkce_pair

CHROMIUM = os.environ.get("SCAIKEY_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).parent / "rp" / "node_modules" / "axe-core" / "axe.min.js"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
WRONG = "The email address or password is incorrect."


class _Callback(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        if urlparse(self.path).path != "/cb":  # the browser's own asks (a favicon)
            self.send_error(404)
            return
        self.server.seen.append(self.path)
        body = b"<!doctype html><html lang=en><title>Relying party</title><p>Signed in.</p></html>"
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def relying_party():
    """The relying party's callback, listening on a free loopback port; `.seen` lists the
    requests (path and query) its `/cb` was sent."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Callback)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def world(relying_party):
    return make_world("rp-browser", callback=f"http://127.0.0.1:{relying_party.server_port}/cb")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


class Authorization:
    """One authorization request: its URL, and what the callback and the exchange check."""

    def __init__(self, world, **extra):
        self.world = world
        self.state = secrets.token_urlsafe(12)
        self.verifier, challenge = pkce_pair()
        query = {"response_type": "code", "client_id": world.client_id, "redirect_uri": world.callback,
                 "scope": "openid profile email", "state": self.state, "nonce": secrets.token_urlsafe(12),
                 "code_challenge": challenge, "code_challenge_method": "S256", **extra}
        self.url = f"{world.issuer}/oauth/authorize?{urlencode(query)}"

    def check_callback(self, page, relying_party):
        """The browser is at the callback, which the relying party was sent: its state and
        issuer are this request's, its code exchanges for tokens."""
        page.wait_for_url(f"{self.world.callback}?**")
        url = page.url
        assert relying_party.seen and relying_party.seen[-1] == url.removeprefix(
            f"http://127.0.0.1:{relying_party.server_port}")
        answer = parse_qs(urlparse(url).query)
        assert "error" not in answer, answer
        assert answer["state"] == [self.state]
        assert answer["iss"] == [self.world.issuer]
        (code,) = answer["code"]
        token = requests.post(
            f"{self.world.issuer}/oauth/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": self.world.callback,
                  "code_verifier": self.verifier},
            auth=(self.world.client_id, self.world.client_secret),
            timeout=10,
        )
        assert token.status_code == 200, token.text
        assert token.json()["id_token"]


def fill_and_submit(page, email, password):
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def serious_violations(page):
    """axe-core's WCAG 2 A/AA violations of impact serious or critical on the page."""
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})"
    )
    ran = {rule["id"] for rule in result["passes"] + result["incomplete"] + result["violations"]}
    # The audit looked at what matters here (not an empty pass).
    assert {"color-contrast", "html-has-lang", "label", "document-title"} <= ran, ran
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["html"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_sign_in_without_javascript(world, browser, relying_party):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        first = Authorization(world)
        response = page.goto(first.url)
        assert response.status == 200
        assert urlparse(page.url).path == urlparse(f"{world.issuer}/login").path, page.url
        assert page.get_by_role("heading", level=1).inner_text() == "Sign in to rp-browser tenant"
        fill_and_submit(page, world.email, PASSWORD)
        first.check_callback(page, relying_party)

        # Signed in: the next authorize skips the form.
        seen = len(relying_party.seen)
        second = Authorization(world)
        page.goto(second.url)
        second.check_callback(page, relying_party)
        assert len(relying_party.seen) == seen + 1
    finally:
        context.close()


def test_sign_in_with_javascript_and_the_page_audited(world, browser, relying_party):
    context = browser.new_context(java_script_enabled=True)
    try:
        page = context.new_page()
        first = Authorization(world, login_hint=world.email)
        response = page.goto(first.url)
        assert response.status == 200
        csp = response.headers["content-security-policy"]
        rp_origin = f"http://127.0.0.1:{relying_party.server_port}"
        assert f"form-action 'self' {rp_origin}" in csp, csp
        assert "frame-ancestors 'none'" in csp
        assert page.get_by_label("Email address").input_value() == world.email, "login_hint"
        assert serious_violations(page) == []

        # A wrong password: the form again, with one message, and still accessible.
        fill_and_submit(page, world.email, "not-the-password")
        page.get_by_role("alert").wait_for()
        assert page.get_by_role("alert").inner_text() == WRONG
        assert serious_violations(page) == []

        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        first.check_callback(page, relying_party)

        second = Authorization(world)
        page.goto(second.url)
        second.check_callback(page, relying_party)

        # The tenant's branding: its colours and name; the page still passes the audit, and
        # signs in (prompt=login: the form again, though the browser is signed in).
        world.patch_tenant({"branding": {"primary_color": "#ffcc00", "background_color": "#222222",
                                         "display_name": "Acme"}})
        branded = Authorization(world, prompt="login")
        page.goto(branded.url)
        assert page.get_by_role("heading", level=1).inner_text() == "Sign in to Acme"
        assert page.title() == "Sign in — Acme"
        colours = page.evaluate(
            """() => ({body: getComputedStyle(document.body).backgroundColor,
                       button: getComputedStyle(document.querySelector('button')).backgroundColor})"""
        )
        assert colours == {"body": "rgb(34, 34, 34)", "button": "rgb(255, 204, 0)"}
        assert serious_violations(page) == []
        fill_and_submit(page, world.email, PASSWORD)
        branded.check_callback(page, relying_party)
    finally:
        context.close()


def test_the_audit_finds_what_it_looks_for(browser):
    """The harness is not blind: a page without a language, with a field without a label and
    grey-on-grey text, has serious violations."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content(
            "<!doctype html><html><head><title>Bad</title></head><body>"
            "<p style='color:#999;background:#aaa'>Unreadable</p><input id=x></body></html>"
        )
        found = {v["id"] for v in serious_violations(page)}
        assert {"color-contrast", "html-has-lang", "label"} <= found, found
    finally:
        context.close()


def test_an_unknown_tenant_is_an_error_page(world, browser):
    """SPEC §6.2 and the authorize operation's own description: no such tenant is an HTML error
    page (404) with the sign-in's headers — a person sees a page, not an API's JSON."""
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        missing = world.issuer.rsplit("/", 1)[0] + "/no-such-tenant-" + secrets.token_hex(4)
        response = page.goto(f"{missing}/oauth/authorize?client_id={world.client_id}")
        assert response.status == 404
        assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
        assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", "")
        assert page.get_by_role("heading", level=1).inner_text() == "Sign-in unavailable"
    finally:
        context.close()


# What an SPA does once the browser is back at its page: discovery, the code exchange (a public
# client: client_id and code_verifier), userinfo — each a cross-origin fetch from the RP's
# origin, which the provider must allow (CORS) for the app's registered origins.
SPA_EXCHANGE = """async ([issuer, clientId, redirectUri, code, verifier]) => {
  const step = async (name, run) => {
    try { return await run(); } catch (e) { throw new Error(`${name}: ${e}`); }
  };
  try {
    const meta = await step('discovery', async () =>
      (await fetch(issuer + '/.well-known/openid-configuration')).json());
    const token = await step('token', async () => {
      const answer = await fetch(meta.token_endpoint, {method: 'POST', body: new URLSearchParams({
        grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId,
        code_verifier: verifier})});
      return {status: answer.status, body: await answer.json()};
    });
    const info = await step('userinfo', async () => (await fetch(meta.userinfo_endpoint,
      {headers: {authorization: 'Bearer ' + token.body.access_token}})).json());
    return {token: token.status, id_token: !!token.body.id_token, sub: info.sub};
  } catch (e) {
    return {failed: String(e.message)};
  }
}"""


def test_a_single_page_app_completes_its_sign_in_in_the_browser(world, browser, relying_party):
    """An SPA (public client, PKCE) finishes the flow from its own page, as oidc-client-ts or
    openid-client in a browser would: the provider's discovery, token and userinfo endpoints
    answer its registered origin's cross-origin requests (CORS)."""
    origin = f"http://127.0.0.1:{relying_party.server_port}"
    spa = world.make_spa(world.callback, origin)
    context = browser.new_context(java_script_enabled=True)
    try:
        page = context.new_page()
        console = []
        page.on("console", lambda message: console.append(message.text))
        asked = Authorization(world, client_id=spa)
        page.goto(asked.url)
        fill_and_submit(page, world.email, PASSWORD)
        page.wait_for_url(f"{world.callback}?**")
        answer = parse_qs(urlparse(page.url).query)
        assert answer["state"] == [asked.state]
        done = page.evaluate(SPA_EXCHANGE, [world.issuer, spa, world.callback, answer["code"][0], asked.verifier])
        assert done == {"token": 200, "id_token": True, "sub": world.user_id}, console
    finally:
        context.close()


def platform_authorization(world, client_id):
    """An authorization request at the platform's issuer: its URL, state and verifier."""
    state = secrets.token_urlsafe(12)
    verifier, challenge = pkce_pair()
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": world.callback,
             "scope": "openid email", "state": state, "nonce": secrets.token_urlsafe(12),
             "code_challenge": challenge, "code_challenge_method": "S256"}
    platform = world.issuer.split("/api/v1/")[0] + "/api/v1/platform/oauth"
    return f"{platform}/authorize?{urlencode(query)}", state, verifier, platform


def platform_exchange(page, world, client, state, verifier, platform):
    """The browser is back at the callback: the platform's issuer and the state, and the code
    exchanges at the platform's token endpoint: the ID token's tenant."""
    page.wait_for_url(f"{world.callback}?**")
    answer = parse_qs(urlparse(page.url).query)
    assert answer["state"] == [state] and answer["iss"] == [platform], answer
    token = requests.post(
        f"{platform}/token",
        data={"grant_type": "authorization_code", "code": answer["code"][0],
              "redirect_uri": world.callback, "code_verifier": verifier},
        auth=client,
        timeout=10,
    )
    assert token.status_code == 200, token.text
    id_token = token.json()["id_token"].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(id_token + "=" * (-len(id_token) % 4)))["tenant_id"]


def test_the_platforms_email_first_sign_in_and_its_choice_of_organisation(world, browser, relying_party):
    client = world.make_global(world.callback)
    # JavaScript off: one tenant holds the email, so the password signs in there.
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        url, state, verifier, platform = platform_authorization(world, client[0])
        assert page.goto(url).status == 200
        assert page.get_by_label("Password").count() == 0, "the email first"
        page.get_by_label("Email address").fill(world.email)
        page.get_by_role("button", name="Continue").click()
        fill_and_submit(page, world.email, PASSWORD)
        assert platform_exchange(page, world, client, state, verifier, platform) == world.tenant_id
    finally:
        context.close()

    # JavaScript on, each page audited: the same person in a second tenant picks it.
    elsewhere = world.same_person_elsewhere("Globex Lab")
    context = browser.new_context(java_script_enabled=True)
    try:
        page = context.new_page()
        url, state, verifier, platform = platform_authorization(world, client[0])
        page.goto(url)
        assert serious_violations(page) == []
        page.get_by_label("Email address").fill(world.email)
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Password").wait_for()
        assert serious_violations(page) == []
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Choose an organisation").wait_for()
        assert serious_violations(page) == []
        page.get_by_label("Globex Lab").check()
        page.get_by_role("button", name="Continue").click()
        assert platform_exchange(page, world, client, state, verifier, platform) == elsewhere
    finally:
        context.close()
