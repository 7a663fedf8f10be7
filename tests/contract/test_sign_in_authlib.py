"""Authlib, used unchanged, as a relying party of a tenant's OpenID Provider (SPEC §6): its
OAuth2Session builds the authorization URL (S256 PKCE from a code verifier, state, nonce),
the browser's part is a plain `requests` session (its own cookie jar: the SSO cookie), and
`fetch_token` exchanges the code from the callback URL (Authlib checks the state) with the
code verifier. The ID token is verified with joserfc against the JWKS the discovery names:
signature, `iss`, `aud`, `nonce`, `sub`, `exp`. Then userinfo, refresh, introspection,
revocation with Authlib's own methods, and logout through the discovered end_session_endpoint.

Run by scripts/contract, which provides (environment):
  SCAIKEY_BASE_URL        the local server, and its SCAIKEY_PUBLIC_URL
  SCAIKEY_ADMIN_EMAIL     the bootstrapped super admin
  SCAIKEY_ADMIN_PASSWORD
"""

import secrets
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

from sign_in_world import AFTER_LOGOUT, CALLBACK, PASSWORD, login_form, make_world


@pytest.fixture(scope="module")
def world():
    return make_world("rp-authlib")


@pytest.fixture(scope="module")
def metadata(world):
    answer = requests.get(f"{world.issuer}/.well-known/openid-configuration", timeout=10)
    answer.raise_for_status()
    return answer.json()


@pytest.fixture(scope="module")
def keys(metadata):
    return KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())


def session_for(world, method="client_secret_basic", scope="openid profile email offline_access"):
    return OAuth2Session(
        world.client_id,
        world.client_secret,
        scope=scope,
        redirect_uri=CALLBACK,
        code_challenge_method="S256",
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
    )


def browse(browser: requests.Session, url: str, world, password=PASSWORD) -> str:
    """The user agent: the authorize URL followed to the callback (the login form filled when
    it is shown); answers the callback URL."""
    answer = browser.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 303, answer.text
    location = urljoin(url, answer.headers["location"])
    if location.startswith(CALLBACK):
        return location
    assert urlparse(location).path.endswith("/login"), location
    page = browser.get(location, allow_redirects=False, timeout=10)
    assert page.status_code == 200, page.text
    flow, action = login_form(page.text)
    posted = browser.post(
        urljoin(location, action),
        data={"flow": flow, "email": world.email, "password": password},
        allow_redirects=False,
        timeout=10,
    )
    assert posted.status_code == 303, posted.text
    location = posted.headers["location"]
    assert location.startswith(CALLBACK), location
    return location


def verify_id_token(id_token, keys, metadata, world, nonce):
    verified = jwt.decode(id_token, keys, algorithms=metadata["id_token_signing_alg_values_supported"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": world.issuer},
        aud={"essential": True, "value": world.client_id},
        nonce={"essential": True, "value": nonce},
        sub={"essential": True, "value": world.user_id},
        exp={"essential": True},
        iat={"essential": True},
    ).validate(verified.claims)
    return verified.claims


def sign_in(world, metadata, browser, method="client_secret_basic", scope="openid profile email offline_access"):
    session = session_for(world, method, scope)
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    query = parse_qs(urlparse(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    callback = browse(browser, url, world)
    answer = parse_qs(urlparse(callback).query)
    assert answer["state"] == [state]
    assert answer["iss"] == [world.issuer], "RFC 9207"
    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    return session, token, nonce, callback, verifier


def test_discovery_names_this_issuer_and_the_code_flow(world, metadata):
    assert metadata["issuer"] == world.issuer
    assert metadata["response_types_supported"] == ["code"]
    assert "S256" in metadata["code_challenge_methods_supported"]
    assert "plain" not in metadata["code_challenge_methods_supported"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert {"authorization_code", "refresh_token"} <= set(metadata["grant_types_supported"])


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_code_flow_with_pkce_and_a_verified_id_token(world, metadata, keys, method):
    browser = requests.Session()
    session, token, nonce, callback, verifier = sign_in(world, metadata, browser, method)
    assert token["token_type"].lower() == "bearer"
    assert set(token["scope"].split()) == {"openid", "profile", "email", "offline_access"}
    assert token["refresh_token"]
    claims = verify_id_token(token["id_token"], keys, metadata, world, nonce)
    assert claims["email"] == world.email
    assert claims["name"] == "Ann Lee"
    assert claims["amr"] == ["pwd"]
    # The access token is the client's too.
    access = jwt.decode(token["access_token"], keys).claims
    assert access["iss"] == world.issuer and access["aud"] == world.client_id
    assert access["sid"] == claims["sid"]

    # The session carries the token: userinfo answers the user.
    info = session.get(metadata["userinfo_endpoint"], timeout=10)
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == world.user_id
    assert info.json()["email"] == world.email

    # The code is single use; its replay revokes what it gave.
    replay = session_for(world, method)
    with pytest.raises(OAuthError) as refused:
        replay.fetch_token(metadata["token_endpoint"], authorization_response=callback,
                           code_verifier=verifier, state=parse_qs(urlparse(callback).query)["state"][0])
    assert refused.value.error == "invalid_grant"
    assert session.introspect_token(metadata["introspection_endpoint"], token=token["access_token"]).json() == {"active": False}


def test_refresh_introspect_revoke_and_logout(world, metadata, keys):
    browser = requests.Session()
    session, token, nonce, _, _ = sign_in(world, metadata, browser)
    first_refresh = token["refresh_token"]

    live = session.introspect_token(metadata["introspection_endpoint"], token=token["access_token"])
    assert live.status_code == 200
    assert live.json()["active"] is True
    assert live.json()["client_id"] == world.client_id

    refreshed = session.refresh_token(metadata["token_endpoint"], refresh_token=first_refresh)
    assert refreshed["refresh_token"] != first_refresh
    assert jwt.decode(refreshed["access_token"], keys).claims["sub"] == world.user_id

    # A second sign-in in the same browser skips the form (SSO) and gets its own grant.
    other, other_token, other_nonce, _, _ = sign_in(world, metadata, browser, scope="openid email")
    other_claims = verify_id_token(other_token["id_token"], keys, metadata, world, other_nonce)
    assert other_claims["sid"] == jwt.decode(token["id_token"], keys).claims["sid"], "one SSO session"
    assert "refresh_token" in other_token, "a WEB app gets a refresh token"

    # Revoking the refreshed token ends that grant only.
    answer = session.revoke_token(metadata["revocation_endpoint"], token=refreshed["refresh_token"],
                                  token_type_hint="refresh_token")
    assert answer.status_code == 200
    assert session.introspect_token(metadata["introspection_endpoint"], token=refreshed["access_token"]).json() == {"active": False}
    with pytest.raises(OAuthError) as refused:
        session.refresh_token(metadata["token_endpoint"], refresh_token=refreshed["refresh_token"])
    assert refused.value.error == "invalid_grant"
    assert other.get(metadata["userinfo_endpoint"], timeout=10).status_code == 200

    # Logout with the hint of this browser's session: back to the registered URI with the state.
    bye = browser.get(
        metadata["end_session_endpoint"],
        params={"id_token_hint": other_token["id_token"], "post_logout_redirect_uri": AFTER_LOGOUT,
                "state": "bye-1", "client_id": world.client_id},
        allow_redirects=False,
        timeout=10,
    )
    assert bye.status_code == 303, bye.text
    assert bye.headers["location"] == f"{AFTER_LOGOUT}?state=bye-1"
    # The session's tokens ended with it.
    assert other.get(metadata["userinfo_endpoint"], timeout=10).status_code == 401
    with pytest.raises(OAuthError):
        other.refresh_token(metadata["token_endpoint"], refresh_token=other_token["refresh_token"])
    # prompt=none now answers login_required at the callback.
    session = session_for(world)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=secrets.token_urlsafe(48),
        nonce="n", prompt="none",
    )
    answer = browser.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 303
    back = parse_qs(urlparse(answer.headers["location"]).query)
    assert back["error"] == ["login_required"]
    assert back["state"] == [state] and back["iss"] == [world.issuer]


def test_a_wrong_password_shows_the_form_again(world, metadata):
    browser = requests.Session()
    session = session_for(world)
    url, _ = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=secrets.token_urlsafe(48), nonce="n"
    )
    answer = browser.get(url, allow_redirects=False, timeout=10)
    login = urljoin(url, answer.headers["location"])
    page = browser.get(login, timeout=10)
    flow, action = login_form(page.text)
    wrong = browser.post(urljoin(login, action), data={"flow": flow, "email": world.email, "password": "nope-nope-nope"},
                         allow_redirects=False, timeout=10)
    assert wrong.status_code == 401
    assert "The email address or password is incorrect." in wrong.text
    assert 'name="flow"' in wrong.text
