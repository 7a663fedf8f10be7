// openid-client (an OpenID-certified relying-party library), used unchanged, against a tenant's
// OpenID Provider (SPEC §6): discovery, the authorization code flow with PKCE, state and nonce
// (the browser's part driven with plain fetch and a cookie jar written here: authorize → the
// hosted login → the form posted → the redirect to the callback), the code grant (which checks
// RFC 9207's `iss`, the ID token's signature from the discovered JWKS, `iss`, `aud`, `nonce`),
// userinfo, refresh, introspection, revocation, RP-initiated logout; a confidential client
// (client_secret_post and client_secret_basic) and a public one (an SPA: PKCE, auth method
// `none`).
//
// Run by scripts/contract with node's test runner (`node --test`), which provides
// (environment):
//   SCAIKEY_BASE_URL        the local server (also its SCAIKEY_PUBLIC_URL: the issuer's base)
//   SCAIKEY_ADMIN_EMAIL     the bootstrapped super admin
//   SCAIKEY_ADMIN_PASSWORD

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, describe, test } from "node:test";

import * as client from "openid-client";

const BASE_URL = process.env.SCAIKEY_BASE_URL;
const PASSWORD = "Rp-contract-passw0rd!";
// Nothing listens there: the redirect to the callback is read from the 303, never followed.
const CALLBACK = "http://127.0.0.1:9/cb";
const AFTER_LOGOUT = "http://127.0.0.1:9/bye";
const INSECURE = { execute: [client.allowInsecureRequests] };

// ---- the admin API: a partner, a tenant, a user and the apps, made for this run -------------

async function admin(method, path, token, body) {
  const answer = await fetch(BASE_URL + path, {
    method,
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  assert.ok(answer.ok, `${method} ${path}: ${answer.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function world() {
  const suffix = randomBytes(4).toString("hex");
  const { access_token: token } = await admin("POST", "/api/v1/admin/auth/login", null, {
    email: process.env.SCAIKEY_ADMIN_EMAIL,
    password: process.env.SCAIKEY_ADMIN_PASSWORD,
  });
  const partner = await admin("POST", "/api/v1/admin/partners", token, {
    name: "openid-client partner",
    slug: `rp-node-${suffix}`,
    contact_email: "rp@contract.test",
  });
  const slug = `rp-node-t-${suffix}`;
  const tenant = await admin("POST", "/api/v1/admin/tenants", token, {
    name: "openid-client tenant",
    slug,
    partner_id: partner.id,
  });
  const email = `ann-${suffix}@contract.test`;
  const user = await admin("POST", "/api/v1/admin/users", token, {
    tenant_id: tenant.id,
    email,
    password: PASSWORD,
    first_name: "Ann",
    last_name: "Lee",
    email_verified: true,
  });
  const web = await admin("POST", "/api/v1/admin/applications", token, {
    name: "openid-client web",
    scope: "TENANT",
    tenant_id: tenant.id,
    application_type: "WEB",
    redirect_uris: [CALLBACK],
    post_logout_redirect_uris: [AFTER_LOGOUT],
    allowed_scopes: ["openid", "profile", "email", "offline_access"],
    grant_types: ["authorization_code", "refresh_token"],
  });
  const spa = await admin("POST", "/api/v1/admin/applications", token, {
    name: "openid-client spa",
    scope: "TENANT",
    tenant_id: tenant.id,
    application_type: "SPA",
    redirect_uris: [CALLBACK],
    post_logout_redirect_uris: [AFTER_LOGOUT],
    allowed_origins: ["http://127.0.0.1:9"],
    allowed_scopes: ["openid", "profile", "email"],
    grant_types: ["authorization_code", "refresh_token"],
  });
  const global = await admin("POST", "/api/v1/admin/applications", token, {
    name: `openid-client global ${suffix}`,
    scope: "GLOBAL",
    application_type: "WEB",
    redirect_uris: [CALLBACK],
    post_logout_redirect_uris: [AFTER_LOGOUT],
    allowed_scopes: ["openid", "profile", "email", "offline_access"],
    grant_types: ["authorization_code", "refresh_token"],
  });
  assert.ok(web.client_secret, "a WEB app has a secret");
  assert.ok(!spa.client_secret, "an SPA has none");
  return {
    issuer: `${BASE_URL}/api/v1/auth/tenants/${slug}`,
    platformIssuer: `${BASE_URL}/api/v1/platform/oauth`,
    tenantId: tenant.id,
    email,
    userId: user.id,
    web,
    spa,
    global,
  };
}

// ---- a browser without a browser: fetch and a cookie jar --------------------------------------

/** Cookies as a browser keeps them for one host: by name and path, sent on path prefixes. */
class CookieJar {
  constructor() {
    this.cookies = new Map(); // `${path}\n${name}` → { name, value, path, expires }
  }

  absorb(response, url) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";").map((s) => s.trim());
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = url.pathname.replace(/\/[^/]*$/, "") || "/";
      let expires = Infinity;
      for (const attribute of attributes) {
        const [key, val = ""] = attribute.split("=");
        const k = key.toLowerCase();
        if (k === "path") path = val;
        if (k === "max-age") expires = Date.now() + Number(val) * 1000;
        if (k === "expires" && expires === Infinity) expires = Date.parse(val);
      }
      const key = `${path}\n${name}`;
      if (expires <= Date.now()) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path, expires });
    }
  }

  header(url) {
    const now = Date.now();
    return [...this.cookies.values()]
      .filter((c) => c.expires > now)
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith("/") ? c.path : `${c.path}/`))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join("; ");
  }

  has(name) {
    return [...this.cookies.values()].some((c) => c.name === name && c.expires > Date.now());
  }

  /** One request, no redirect followed. */
  async request(url, init = {}) {
    url = new URL(url);
    const headers = new Headers(init.headers);
    const cookie = this.header(url);
    if (cookie) headers.set("cookie", cookie);
    const response = await fetch(url, { ...init, headers, redirect: "manual" });
    this.absorb(response, url);
    return response;
  }
}

function locationOf(response) {
  assert.equal(response.status, 303, `a 303 expected, got ${response.status}`);
  return new URL(response.headers.get("location"));
}

/** The hidden `flow` and the form's action of a login page. */
function loginForm(html) {
  const flow = html.match(/<input[^>]*name="flow"[^>]*value="([^"]*)"/);
  const action = html.match(/<form[^>]*action="([^"]*)"/);
  assert.ok(flow && action, "a login form with its flow");
  const unescape = (s) => s.replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
  return { flow: unescape(flow[1]), action: unescape(action[1]) };
}

/**
 * The browser's part: the authorize URL followed to the login page, the form posted; answers
 * the callback URL the provider redirects to (with the jar's SSO session, straight away).
 */
async function signIn(jar, authorizationUrl, email, password) {
  const first = locationOf(await jar.request(authorizationUrl));
  if (first.href.startsWith(CALLBACK)) return first;
  assert.ok(first.pathname.endsWith("/login"), `to the login page, not ${first}`);
  const page = await jar.request(first);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type"), /^text\/html/);
  const { flow, action } = loginForm(await page.text());
  const posted = await jar.request(new URL(action, first), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ flow, email, password }),
  });
  const callback = locationOf(posted);
  assert.ok(callback.href.startsWith(CALLBACK), `to the callback, not ${callback}`);
  assert.ok(jar.has("scaikey_sso"), "the SSO cookie is set");
  return callback;
}

/** A fresh authorization request: its URL and the checks the code grant needs. */
async function authorization(config, scope, extra = {}) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const expectedState = client.randomState();
  const expectedNonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: "S256",
    state: expectedState,
    nonce: expectedNonce,
    ...extra,
  });
  return { url, checks: { pkceCodeVerifier, expectedState, expectedNonce, idTokenExpected: true } };
}

/** An error whose message, or that of one of its causes, matches `pattern`. */
function because(pattern) {
  return (err) => {
    const messages = [];
    for (let e = err; e; e = e.cause) messages.push(String(e.message));
    assert.ok(messages.some((m) => pattern.test(m)), messages.join(" <- "));
    return true;
  };
}

/** Waits for the next whole second of the clock (and 20 ms into it). */
async function startOfASecond() {
  await new Promise((resolve) => setTimeout(resolve, 1020 - (Date.now() % 1000)));
}

async function rejectsWith(promise, error) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.error ?? err.code, error, `${err.name}: ${err.message}`);
    return true;
  });
}

// ---- the tests ----------------------------------------------------------------------------------

let w;
before(async () => {
  w = await world();
});

describe("openid-client, a confidential client (WEB)", () => {
  let config;
  let basicConfig;
  const jar = new CookieJar();
  let first;

  before(async () => {
    config = await client.discovery(new URL(w.issuer), w.web.client_id, w.web.client_secret, undefined, INSECURE);
    basicConfig = await client.discovery(
      new URL(w.issuer),
      w.web.client_id,
      undefined,
      client.ClientSecretBasic(w.web.client_secret),
      INSECURE,
    );
  });

  test("discovery names the issuer it was asked for and what the flow needs", () => {
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, w.issuer);
    assert.ok(meta.supportsPKCE(), "S256 PKCE");
    assert.equal(meta.authorization_response_iss_parameter_supported, true);
    for (const endpoint of ["authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
      "revocation_endpoint", "introspection_endpoint", "end_session_endpoint"]) {
      assert.ok(meta[endpoint]?.startsWith(w.issuer), `${endpoint}: ${meta[endpoint]}`);
    }
  });

  test("sign-in: authorize, the hosted login, the code grant (iss, signature, nonce, aud checked)", async () => {
    const { url, checks } = await authorization(config, "openid profile email offline_access");
    const callback = await signIn(jar, url, w.email.toUpperCase(), PASSWORD);
    assert.equal(callback.searchParams.get("iss"), w.issuer, "RFC 9207");
    assert.equal(callback.searchParams.get("state"), checks.expectedState);
    const tokens = await client.authorizationCodeGrant(config, callback, checks);
    assert.equal(tokens.token_type.toLowerCase(), "bearer");
    assert.ok(tokens.refresh_token, "offline_access: a refresh token");
    assert.ok(tokens.expiresIn() > 0);
    const claims = tokens.claims();
    assert.equal(claims.iss, w.issuer);
    assert.equal(claims.aud, w.web.client_id);
    assert.equal(claims.sub, w.userId);
    assert.equal(claims.nonce, checks.expectedNonce);
    assert.equal(claims.email, w.email);
    assert.equal(claims.given_name, "Ann");
    assert.deepEqual(claims.amr, ["pwd"]);
    assert.ok(claims.sid && claims.auth_time);
    first = { tokens, callback, checks };
  });

  test("the same browser signs in again without the form (SSO)", async () => {
    const { url, checks } = await authorization(config, "openid email");
    const answer = locationOf(await jar.request(url));
    assert.ok(answer.href.startsWith(CALLBACK), `straight back to the client, not ${answer}`);
    const tokens = await client.authorizationCodeGrant(basicConfig, answer, checks);
    assert.equal(tokens.claims().sub, w.userId);
    assert.equal(tokens.claims().nonce, checks.expectedNonce);
    assert.equal(tokens.claims().sid, first?.tokens.claims().sid, "the same SSO session");
  });

  test("max_age: a session young enough answers at once, and the library checks auth_time", async () => {
    const { url, checks } = await authorization(config, "openid", { max_age: "600" });
    const answer = locationOf(await jar.request(url));
    assert.ok(answer.href.startsWith(CALLBACK), `straight back to the client, not ${answer}`);
    const tokens = await client.authorizationCodeGrant(config, answer, { ...checks, maxAge: 600 });
    assert.equal(tokens.claims().auth_time, first?.tokens.claims().auth_time);
  });

  // OpenID Connect Core 1.0 §3.1.2.1 (errata set 2; the working group's issue 993): "max_age=0
  // is equivalent to prompt=login". The provider compares whole seconds (elapsed > max_age), so
  // a session signed in this very second would be taken: the sign-in is timed to start a second.
  test("max_age=0 asks for the password again, however young the session", async () => {
    const fresh = new CookieJar();
    await startOfASecond();
    const signedIn = await authorization(config, "openid");
    await signIn(fresh, signedIn.url, w.email, PASSWORD);
    const { url } = await authorization(config, "openid", { max_age: "0" });
    const to = locationOf(await fresh.request(url));
    assert.ok(to.pathname.endsWith("/login"), `max_age=0 must show the login form, not answer ${to.origin}${to.pathname}`);
  });

  test("a code is single use: a second exchange is invalid_grant and revokes what the first gave", async () => {
    const { url, checks } = await authorization(config, "openid offline_access");
    const callback = locationOf(await jar.request(url));
    const tokens = await client.authorizationCodeGrant(config, callback, checks);
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true);
    await rejectsWith(client.authorizationCodeGrant(config, callback, checks), "invalid_grant");
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false);
    await rejectsWith(client.refreshTokenGrant(config, tokens.refresh_token), "invalid_grant");
  });

  test("a wrong state, or a callback with another issuer, is refused by the library", async () => {
    const { url, checks } = await authorization(config, "openid");
    const answer = locationOf(await jar.request(url));
    await assert.rejects(client.authorizationCodeGrant(config, answer, { ...checks, expectedState: "other" }), because(/"state"/));
    const forged = new URL(answer);
    forged.searchParams.set("iss", `${BASE_URL}/api/v1/auth/tenants/elsewhere`);
    await assert.rejects(client.authorizationCodeGrant(config, forged, checks), because(/"iss"/));
    // The real answer still exchanges (the library refused before using the code).
    const tokens = await client.authorizationCodeGrant(config, answer, checks);
    assert.equal(tokens.claims().nonce, checks.expectedNonce);
  });

  test("errors come back to the client with state and iss, and the library reads them", async () => {
    const asked = await authorization(config, "openid admin:write");
    const answer = locationOf(await jar.request(asked.url));
    assert.ok(answer.href.startsWith(CALLBACK), `an error goes back to the client, not ${answer}`);
    assert.equal(answer.searchParams.get("iss"), w.issuer, "RFC 9207: on errors too");
    await rejectsWith(client.authorizationCodeGrant(config, answer, asked.checks), "invalid_scope");

    const plain = await authorization(config, "openid", { code_challenge: "x".repeat(43), code_challenge_method: "plain" });
    const refused = locationOf(await jar.request(plain.url));
    await rejectsWith(client.authorizationCodeGrant(config, refused, plain.checks), "invalid_request");

    const wrong = await client.discovery(new URL(w.issuer), w.web.client_id, "not-the-secret", undefined, INSECURE);
    await rejectsWith(client.refreshTokenGrant(wrong, first.tokens.refresh_token), "invalid_client");
  });

  test("userinfo, introspection, refresh (rotated), revocation", async () => {
    assert.ok(first, "signed in");
    const { tokens } = first;
    const sub = tokens.claims().sub;
    const info = await client.fetchUserInfo(config, tokens.access_token, sub);
    assert.equal(info.sub, w.userId);
    assert.equal(info.email, w.email);
    assert.equal(info.family_name, "Lee");

    const live = await client.tokenIntrospection(config, tokens.access_token);
    assert.equal(live.active, true);
    assert.equal(live.client_id, w.web.client_id);
    assert.equal(live.sub, w.userId);
    assert.equal(live.iss, w.issuer);

    const refreshed = await client.refreshTokenGrant(basicConfig, tokens.refresh_token);
    assert.ok(refreshed.access_token && refreshed.refresh_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, "rotated");
    const info2 = await client.fetchUserInfo(config, refreshed.access_token, sub);
    assert.equal(info2.sub, w.userId);
    const rt = await client.tokenIntrospection(basicConfig, refreshed.refresh_token, { token_type_hint: "refresh_token" });
    assert.equal(rt.active, true);

    await client.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: "refresh_token" });
    assert.equal((await client.tokenIntrospection(config, refreshed.refresh_token)).active, false);
    assert.equal((await client.tokenIntrospection(config, refreshed.access_token)).active, false);
    await assert.rejects(client.fetchUserInfo(config, refreshed.access_token, sub), (err) => {
      // RFC 6750 §3.1: a 401 with the challenge's error.
      assert.equal(err.code, "OAUTH_WWW_AUTHENTICATE_CHALLENGE");
      assert.equal(err.cause[0].parameters.error, "invalid_token");
      return true;
    });
    await rejectsWith(client.refreshTokenGrant(config, refreshed.refresh_token), "invalid_grant");
    // Revoking again, or something unknown, is still a 200 (RFC 7009 §2.2).
    await client.tokenRevocation(config, refreshed.refresh_token);
    await client.tokenRevocation(config, "not-a-token");
  });

  test("a rotated refresh token used again ends its chain", async () => {
    const { url, checks } = await authorization(config, "openid offline_access");
    const tokens = await client.authorizationCodeGrant(config, locationOf(await jar.request(url)), checks);
    const next = await client.refreshTokenGrant(config, tokens.refresh_token);
    await rejectsWith(client.refreshTokenGrant(config, tokens.refresh_token), "invalid_grant");
    await rejectsWith(client.refreshTokenGrant(config, next.refresh_token), "invalid_grant");
  });

  test("RP-initiated logout: back to the registered URI; the next authorize shows the form", async () => {
    const { url, checks } = await authorization(config, "openid");
    const tokens = await client.authorizationCodeGrant(config, locationOf(await jar.request(url)), checks);
    const state = client.randomState();
    const endSession = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: AFTER_LOGOUT,
      state,
    });
    assert.ok(endSession.href.startsWith(`${w.issuer}/oauth/logout?`));
    const back = locationOf(await jar.request(endSession));
    assert.equal(`${back.origin}${back.pathname}`, AFTER_LOGOUT);
    assert.equal(back.searchParams.get("state"), state);
    assert.ok(!jar.has("scaikey_sso"), "the SSO cookie is cleared");

    // The session's tokens ended with it.
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false);
    await rejectsWith(client.refreshTokenGrant(config, first.tokens.refresh_token), "invalid_grant");

    const again = await authorization(config, "openid");
    const to = locationOf(await jar.request(again.url));
    assert.ok(to.pathname.endsWith("/login"), `to the login page after logout, not ${to}`);
  });
});

describe("openid-client, logout without an ID token hint", () => {
  test("asks first; confirmed, it ends the session and goes back to the registered URI", async () => {
    const config = await client.discovery(new URL(w.issuer), w.web.client_id, w.web.client_secret, undefined, INSECURE);
    const jar = new CookieJar();
    const { url, checks } = await authorization(config, "openid offline_access");
    const tokens = await client.authorizationCodeGrant(config, await signIn(jar, url, w.email, PASSWORD), checks);
    const endSession = client.buildEndSessionUrl(config, { post_logout_redirect_uri: AFTER_LOGOUT, state: "s-2" });
    const asked = await jar.request(endSession);
    assert.equal(asked.status, 200, "a confirmation page");
    const html = await asked.text();
    assert.match(html, /name="confirm" value="yes"/);
    assert.ok(jar.has("scaikey_sso"), "not signed out yet");
    // The page's form, posted as a browser would: its hidden fields and its action.
    const form = new URLSearchParams();
    for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"/g)) {
      form.append(name, value.replaceAll("&amp;", "&").replaceAll("&quot;", '"'));
    }
    const action = html.match(/<form[^>]*action="([^"]*)"/)[1];
    const back = locationOf(await jar.request(new URL(action, endSession), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form,
    }));
    assert.equal(back.href, `${AFTER_LOGOUT}?state=s-2`);
    assert.ok(!jar.has("scaikey_sso"));
    await rejectsWith(client.refreshTokenGrant(config, tokens.refresh_token), "invalid_grant");
    const again = await authorization(config, "openid");
    assert.ok(locationOf(await jar.request(again.url)).pathname.endsWith("/login"));
  });
});

describe("openid-client, a public client (SPA: PKCE, token_endpoint_auth_method none)", () => {
  let config;
  const jar = new CookieJar();

  before(async () => {
    config = await client.discovery(new URL(w.issuer), w.spa.client_id, undefined, client.None(), INSECURE);
  });

  test("sign-in with PKCE and no secret; userinfo; revocation", async () => {
    const { url, checks } = await authorization(config, "openid email");
    const callback = await signIn(jar, url, w.email, PASSWORD);
    const tokens = await client.authorizationCodeGrant(config, callback, checks);
    const claims = tokens.claims();
    assert.equal(claims.aud, w.spa.client_id);
    assert.equal(claims.nonce, checks.expectedNonce);
    assert.equal(tokens.refresh_token, undefined, "an SPA without offline_access gets none");
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.email, w.email);
    // Introspection is for confidential clients only.
    await assert.rejects(client.tokenIntrospection(config, tokens.access_token));
    await client.tokenRevocation(config, tokens.access_token);
    await assert.rejects(client.fetchUserInfo(config, tokens.access_token, claims.sub), "revoked");
  });

  test("a code exchange without the verifier is refused", async () => {
    const { url, checks } = await authorization(config, "openid");
    const callback = locationOf(await jar.request(url));
    assert.ok(callback.href.startsWith(CALLBACK), "SSO");
    await rejectsWith(
      client.authorizationCodeGrant(config, callback, { ...checks, pkceCodeVerifier: client.randomPKCECodeVerifier() }),
      "invalid_grant",
    );
  });
});


describe("openid-client at the platform's issuer (a GLOBAL application, email first)", () => {
  let config;
  const jar = new CookieJar();

  before(async () => {
    config = await client.discovery(
      new URL(w.platformIssuer),
      w.global.client_id,
      w.global.client_secret,
      undefined,
      INSECURE,
    );
  });

  test("only the issuer URL and the client change: sign-in, userinfo, refresh, introspection, logout", async () => {
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, w.platformIssuer);
    assert.ok(meta.supportsPKCE());
    const { url, checks } = await authorization(config, "openid email offline_access");
    // The browser's part: the email alone, then the password on the next page.
    const toLogin = locationOf(await jar.request(url));
    const emailPage = await jar.request(toLogin);
    const emailHtml = await emailPage.text();
    assert.ok(!emailHtml.includes('name="password"'), "the email first");
    const { flow, action } = loginForm(emailHtml);
    const post = (fields) => jar.request(new URL(action, toLogin), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields),
    });
    const passwordPage = await post({ flow, email: w.email });
    assert.equal(passwordPage.status, 200);
    assert.match(await passwordPage.text(), /name="password"/);
    const callback = locationOf(await post({ flow, email: w.email, password: PASSWORD }));
    assert.ok(callback.href.startsWith(CALLBACK), `to the callback, not ${callback}`);
    assert.equal(callback.searchParams.get("iss"), w.platformIssuer, "RFC 9207");
    const tokens = await client.authorizationCodeGrant(config, callback, checks);
    const claims = tokens.claims();
    assert.equal(claims.iss, w.platformIssuer);
    assert.equal(claims.aud, w.global.client_id);
    assert.equal(claims.sub, w.userId);
    assert.equal(claims.tenant_id, w.tenantId, "which tenant signed in");
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.email, w.email);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    assert.ok(refreshed.access_token);
    assert.equal((await client.tokenIntrospection(config, refreshed.access_token)).active, true);
    // SSO at the platform, then logout there.
    const again = await authorization(config, "openid");
    assert.ok(locationOf(await jar.request(again.url)).href.startsWith(CALLBACK), "SSO");
    const endSession = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: AFTER_LOGOUT,
      state: "p-1",
    });
    assert.equal(locationOf(await jar.request(endSession)).href, `${AFTER_LOGOUT}?state=p-1`);
    await rejectsWith(client.refreshTokenGrant(config, refreshed.refresh_token), "invalid_grant");
  });
});
