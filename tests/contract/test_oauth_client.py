"""A real OAuth client library, used unchanged, against the local server: Authlib's
OAuth2Session reads the platform's OpenID discovery, gets a client_credentials token (HTTP Basic
and form-field client authentication), and the token verifies with joserfc against the JWKS the
discovery names; the admin API then accepts it.

Run by scripts/contract, which provides (environment):
  SCAIKEY_BASE_URL        the local server
  SCAIKEY_ADMIN_EMAIL     the bootstrapped super admin
  SCAIKEY_ADMIN_PASSWORD
"""

import os

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

BASE_URL = os.environ["SCAIKEY_BASE_URL"]
DISCOVERY = f"{BASE_URL}/api/v1/platform/oauth/.well-known/openid-configuration"


@pytest.fixture(scope="module")
def client():
    """A GLOBAL SERVICE application allowed client_credentials with admin:read."""
    login = requests.post(
        f"{BASE_URL}/api/v1/admin/auth/login",
        json={
            "email": os.environ["SCAIKEY_ADMIN_EMAIL"],
            "password": os.environ["SCAIKEY_ADMIN_PASSWORD"],
        },
        timeout=10,
    )
    login.raise_for_status()
    created = requests.post(
        f"{BASE_URL}/api/v1/admin/applications",
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        json={
            "name": "Authlib",
            "scope": "GLOBAL",
            "application_type": "SERVICE",
            "grant_types": ["client_credentials"],
            "allowed_scopes": ["admin:read", "users:read"],
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    return body["client_id"], body["client_secret"]


@pytest.fixture(scope="module")
def metadata():
    answer = requests.get(DISCOVERY, timeout=10)
    answer.raise_for_status()
    return answer.json()


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_gets_a_token_that_verifies_with_the_jwks(client, metadata, method):
    client_id, client_secret = client
    assert method in metadata["token_endpoint_auth_methods_supported"]
    session = OAuth2Session(
        client_id,
        client_secret,
        scope="admin:read",
        token_endpoint_auth_method=method,
    )
    token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "admin:read"
    assert "refresh_token" not in token

    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    verified = jwt.decode(token["access_token"], keys, algorithms=["RS256"])
    claims = verified.claims
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": metadata["issuer"]},
        exp={"essential": True},
    ).validate(claims)
    assert claims["client_id"] == client_id
    assert claims["platform_token"] is True
    assert claims["scope"] == "admin:read"

    # The session sends it as a bearer token: the admin API accepts it within its scope.
    tenants = session.get(f"{BASE_URL}/api/v1/admin/tenants", timeout=10)
    assert tenants.status_code == 200, tenants.text
    refused = session.post(f"{BASE_URL}/api/v1/admin/partners", json={}, timeout=10)
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "Platform token requires admin:read or admin:write scope"
    }


def test_authlib_reports_a_wrong_secret_as_invalid_client(client, metadata):
    client_id, _ = client
    session = OAuth2Session(client_id, "not-the-secret")
    with pytest.raises(OAuthError) as refused:
        session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert refused.value.error == "invalid_client"


def test_authlib_reports_a_scope_beyond_the_client_as_invalid_scope(client, metadata):
    client_id, client_secret = client
    session = OAuth2Session(client_id, client_secret, scope="admin:write")
    with pytest.raises(OAuthError) as refused:
        session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert refused.value.error == "invalid_scope"
