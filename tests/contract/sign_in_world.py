"""What the sign-in contract tests (test_sign_in_authlib.py, test_sign_in_browser.py) stand on:
a partner, a tenant, a user and a WEB application of their own, made through the admin API as
the bootstrapped super admin, with random slugs (a run may repeat against one server).

Environment (scripts/contract provides it): SCAIKEY_BASE_URL — which is also the server's
SCAIKEY_PUBLIC_URL, so the tenant's issuer is under it — SCAIKEY_ADMIN_EMAIL,
SCAIKEY_ADMIN_PASSWORD.
"""

import base64
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from html import unescape

import requests

BASE_URL = os.environ["SCAIKEY_BASE_URL"]
PASSWORD = "Rp-contract-passw0rd!"
# Nothing listens on port 9: the redirect to the callback is read from the 303, never followed
# (the browser's test runs a real callback of its own instead).
RP_ORIGIN = "http://127.0.0.1:9"
CALLBACK = f"{RP_ORIGIN}/cb"
AFTER_LOGOUT = f"{RP_ORIGIN}/bye"


@dataclass
class World:
    admin_token: str
    tenant_id: str
    slug: str
    issuer: str
    email: str
    user_id: str
    client_id: str
    client_secret: str
    callback: str

    def patch_tenant(self, body: dict) -> dict:
        answer = requests.patch(
            f"{BASE_URL}/api/v1/admin/tenants/{self.tenant_id}",
            headers={"Authorization": f"Bearer {self.admin_token}"},
            json=body,
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def make_global(self, callback: str) -> tuple[str, str]:
        """A confidential GLOBAL application (it signs in at the platform's issuer): its client
        id and secret."""
        app = _post(
            "/api/v1/admin/applications",
            self.admin_token,
            {"name": f"global {secrets.token_hex(4)}", "scope": "GLOBAL", "application_type": "WEB",
             "redirect_uris": [callback], "allowed_scopes": ["openid", "profile", "email"],
             "grant_types": ["authorization_code", "refresh_token"]},
        )
        return app["client_id"], app["client_secret"]

    def same_person_elsewhere(self, name: str) -> str:
        """The same email and password in a tenant of its own (named `name`): its tenant id."""
        suffix = secrets.token_hex(4)
        partner = _post(
            "/api/v1/admin/partners",
            self.admin_token,
            {"name": f"{name} partner", "slug": f"p-{suffix}", "contact_email": "rp@contract.test"},
        )
        tenant = _post(
            "/api/v1/admin/tenants",
            self.admin_token,
            {"name": name, "slug": f"t-{suffix}", "partner_id": partner["id"]},
        )
        _post(
            "/api/v1/admin/users",
            self.admin_token,
            {"tenant_id": tenant["id"], "email": self.email, "password": PASSWORD},
        )
        return tenant["id"]

    def make_spa(self, callback: str, origin: str) -> str:
        """A public client (SPA) of this tenant, whose page runs at `origin`: its client id."""
        return _post(
            "/api/v1/admin/applications",
            self.admin_token,
            {"name": "SPA", "scope": "TENANT", "tenant_id": self.tenant_id, "application_type": "SPA",
             "redirect_uris": [callback], "allowed_origins": [origin],
             "allowed_scopes": ["openid", "profile", "email"],
             "grant_types": ["authorization_code", "refresh_token"]},
        )["client_id"]


def _post(path: str, token: str | None, body: dict) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = requests.post(f"{BASE_URL}{path}", headers=headers, json=body, timeout=10)
    assert answer.status_code in (200, 201), f"POST {path}: {answer.status_code} {answer.text}"
    return answer.json()


def make_world(name: str, callback: str = CALLBACK) -> World:
    """A tenant named after `name` with one user (Ann Lee) and one WEB app (TENANT scope) whose
    redirect URI is `callback`."""
    suffix = secrets.token_hex(4)
    token = _post(
        "/api/v1/admin/auth/login",
        None,
        {"email": os.environ["SCAIKEY_ADMIN_EMAIL"], "password": os.environ["SCAIKEY_ADMIN_PASSWORD"]},
    )["access_token"]
    partner = _post(
        "/api/v1/admin/partners",
        token,
        {"name": f"{name} partner", "slug": f"{name}-{suffix}", "contact_email": "rp@contract.test"},
    )
    slug = f"{name}-t-{suffix}"
    tenant = _post(
        "/api/v1/admin/tenants",
        token,
        {"name": f"{name} tenant", "slug": slug, "partner_id": partner["id"]},
    )
    email = f"ann-{suffix}@contract.test"
    user = _post(
        "/api/v1/admin/users",
        token,
        {"tenant_id": tenant["id"], "email": email, "password": PASSWORD,
         "first_name": "Ann", "last_name": "Lee", "email_verified": True},
    )
    app = _post(
        "/api/v1/admin/applications",
        token,
        {"name": f"{name} web", "scope": "TENANT", "tenant_id": tenant["id"],
         "application_type": "WEB", "redirect_uris": [callback],
         "post_logout_redirect_uris": [AFTER_LOGOUT],
         "allowed_scopes": ["openid", "profile", "email", "offline_access"],
         "grant_types": ["authorization_code", "refresh_token"]},
    )
    return World(
        admin_token=token,
        tenant_id=tenant["id"],
        slug=slug,
        issuer=f"{BASE_URL}/api/v1/auth/tenants/{slug}",
        email=email,
        user_id=user["id"],
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        callback=callback,
    )


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636 §4.1–4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def login_form(html: str) -> tuple[str, str]:
    """The hidden `flow` and the action of a hosted login page."""
    flow = re.search(r'<input[^>]*name="flow"[^>]*value="([^"]*)"', html)
    action = re.search(r'<form[^>]*action="([^"]*)"', html)
    assert flow and action, "a login form with its flow"
    return unescape(flow.group(1)), unescape(action.group(1))
