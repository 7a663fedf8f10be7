"""Schemathesis hooks for scripts/contract (loaded through SCHEMATHESIS_HOOKS)."""

import os
import re
from datetime import datetime, timedelta, timezone

import schemathesis

# What the signed-in super admin stands on: the platform partner and tenant, its own user,
# session and role grants. Suspending, deleting or revoking any of them (a revoke-all of its
# user, say) ends its session, and every later request of the run would be a 401.
PROTECTED = set(os.environ.get("CONTRACT_PROTECTED_IDS", "").split())
# A partner, a tenant of it and a user of that tenant, made for the run. Random well-formed ids
# name nothing, so without them almost every valid body is a 404 and the body's own rules (and
# what a valid body does) are never reached. A super admin's grant takes a user of the platform
# tenant: the fourth one.
STAND_INS = {
    "prt_": os.environ.get("CONTRACT_PARTNER_ID", ""),
    "tnt_": os.environ.get("CONTRACT_TENANT_ID", ""),
    "usr_": os.environ.get("CONTRACT_USER_ID", ""),
}
PLATFORM_USER = os.environ.get("CONTRACT_PLATFORM_USER_ID", "")
# The stand-ins stay as they are for the whole run: no path reaches them (deleting the user, say,
# would make every later body naming it a 422).
UNTOUCHABLE = PROTECTED | {v for v in [*STAND_INS.values(), PLATFORM_USER] if v}
ID = re.compile(r"^(prt_|tnt_|usr_)[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")
# The body fields that name a partner, a tenant or a user.
REFERENCES = {"partner_id", "tenant_id", "user_id", "owner_user_id"}


def nothing(value: str) -> str:
    """An id of the same shape that names nothing: the request still goes out (answered 404)."""
    return value[:4] + "0" * 26


def in_the_future(value: str) -> str:
    """An admin role's `expires_at` must be in the future — a rule about now that no schema can
    state: a generated time in the past is moved a year past now."""
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if at.tzinfo is None or at > datetime.now(timezone.utc) + timedelta(minutes=1):
        return value
    return (datetime.now(timezone.utc) + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")


def within_pages(query: dict) -> None:
    """Values a list's schema cannot tie down: a `cursor` is opaque and signed (only one the
    API issued reads; any other is a 422 by design), and `page` × `per_page` reaches 10,000
    items at most. A generated cursor is left out and a page beyond that bound brought back."""
    query.pop("cursor", None)
    page, per_page = query.get("page"), query.get("per_page")
    if isinstance(page, int) and not isinstance(page, bool) and page >= 1:
        size = per_page if isinstance(per_page, int) and 1 <= per_page <= 100 else 20
        if page * size > 10_000:
            query["page"] = 10_000 // size


def as_form(body: dict) -> None:
    """A form field is text: a generated JSON array or object in a form body goes out as
    repeated or odd parameters, which a token endpoint refuses (RFC 6749 §3.2: no parameter
    twice). Left out here; the token form's schema should say its extra fields are strings."""
    for name, value in list(body.items()):
        if isinstance(value, (list, dict)):
            del body[name]


def passing_policy(body: dict) -> None:
    """A password must pass its tenant's policy: the document states the floor every policy
    has (8 characters), a tenant's own may ask more (12 by default, up to 128). A generated
    password is lengthened to the default policy's 12."""
    for name in ("password", "new_password"):
        value = body.get(name)
        if isinstance(value, str) and 8 <= len(value) < 12:
            body[name] = value + "x" * (12 - len(value))


# A certificate that parses (self-signed, CN=idp.example.com; public, no key anywhere): none
# can be generated from a schema, so a SAML config's stands in for the generated one.
CERTIFICATE = """-----BEGIN CERTIFICATE-----
MIIDFTCCAf2gAwIBAgIUZaMzfIfvc2JAQ+kBoTEF2ohP88swDQYJKoZIhvcNAQEL
BQAwGjEYMBYGA1UEAwwPaWRwLmV4YW1wbGUuY29tMB4XDTI2MTEyODA2NDkxOVoX
DTM2MTEyNTA2NDkxOVowGjEYMBYGA1UEAwwPaWRwLmV4YW1wbGUuY29tMIIBIjAN
BgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA2j40PBK4hnbso1tnJzdztz8ZWxqm
Uh96Oj7RaGfQ/RDWI5MgwyQMk4EuPLEjd9GqyQ9u3LwaRfrW5FjQZhAFl4HoI7CY
tTQPSn5QUZpsE+mvnTPXWkNXbp1dc/WSOu6ERZAiV1sNSlO0UzuxcoxXXEPc/JSo
+cp88DwdjYP0AXF51gecq4zh3xKrXJ64zMtQLyZ2aYypA6w5UHl1kNmg0al6z8wR
C+FKVOQoHmSfTSLU5y5sv1aclBK+Q5eypV9C9vB7Az0E3n//DnH2XLYX7t5wIhwh
m/omgZQCzRzjZT9V/r9/dWJfXix1XOQhYRY2xtrnCxxJysBFco/QIolh6wIDAQAB
o1MwUTAdBgNVHQ4EFgQUBfCExi/xD5oJW+684NaKiMj38wcwHwYDVR0jBBgwFoAU
BfCExi/xD5oJW+684NaKiMj38wcwDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0B
AQsFAAOCAQEAt9VxUzQ13QocpziEGSiv1KzgN5mFmLrcD3BP4vcoOjii91jjwD9c
u2gcPauxRm05YrFZwe8gEdgOs4Lc0aSicWmDJrgouFSxahgF4hXeiS6qn+EauGu1
85RxXUW+4afB9Q8DPTdIqDYCHDV9DayNylWoCiskcHd67FFhYJISy0pXoorURTZC
6h4HePGYT4pqAgQlzGqbgDKiqZ/SbDsg11jO5rD3V6nwSPwn/rAXxn+ktpOCRPEt
k5+/+MI0tq+k79f7YUD0QqBrBrdJEw3UM+93SjLlju3EzVRj0TkTp1jpR78KEWXC
CwSv7JHjvMwORmfqh1hmBp/NfW48Ed4yhQ==
-----END CERTIFICATE-----"""
# The stored type of the providers the run has seen: a PATCH's config is of that type.
PROVIDER_TYPES: dict[str, str] = {}
SAML_FIELDS = {"entity_id", "sso_url", "x509_certificate", "name_id_format", "attribute_mappings"}


def provider_config(case, body: dict) -> None:
    """A SAML config takes a certificate that parses; a PATCH's config is of the provider's
    stored type (seen in an earlier answer), a rule on the stored resource no schema states: a
    config of the other type is left out."""
    config = body.get("config")
    if not isinstance(config, dict):
        return
    if isinstance(config.get("x509_certificate"), str):
        config["x509_certificate"] = CERTIFICATE
    if case.method.upper() == "PATCH":
        stored = PROVIDER_TYPES.get((case.path_parameters or {}).get("idp_id", ""))
        shape = "SAML" if SAML_FIELDS & set(config) else "OIDC"
        if stored is not None and shape != stored:
            del body["config"]


@schemathesis.hook
def after_call(context, case, response):
    if "/identity-providers" not in case.path:
        return
    try:
        answer = response.json()
    except Exception:  # noqa: BLE001 — not JSON: nothing to learn
        return
    items = answer.get("items", [answer]) if isinstance(answer, dict) else []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            if item.get("provider_type") in ("OIDC", "SAML"):
                PROVIDER_TYPES[item["id"]] = item["provider_type"]


HTTP_URI = re.compile(r"^https?://")


def native_schemes_for_native_apps(body: dict) -> None:
    """A redirect URI may use a private-use scheme (`com.example.app:/cb`) in a NATIVE
    application only — a rule on the application's type (for a PATCH, the stored one), which
    the document states in words. Such URIs are left out of other bodies."""
    if body.get("application_type") == "NATIVE":
        return
    for name in ("redirect_uris", "post_logout_redirect_uris"):
        uris = body.get(name)
        if isinstance(uris, list):
            body[name] = [u for u in uris if not isinstance(u, str) or HTTP_URI.match(u)]


@schemathesis.hook
def before_call(context, case, kwargs):
    if isinstance(case.query, dict):
        within_pages(case.query)
    if isinstance(case.body, dict) and case.media_type == "application/x-www-form-urlencoded":
        as_form(case.body)
    for name, value in (case.path_parameters or {}).items():
        if value in UNTOUCHABLE:
            case.path_parameters[name] = nothing(value)
    body = case.body
    if not isinstance(body, dict):
        return
    for name, value in list(body.items()):
        if not isinstance(value, str):
            continue
        if value in PROTECTED:
            body[name] = nothing(value)
        elif name in REFERENCES and ID.match(value) and STAND_INS.get(value[:4]):
            body[name] = STAND_INS[value[:4]]
    if body.get("role") == "SUPER_ADMIN" and isinstance(body.get("user_id"), str) and PLATFORM_USER:
        if ID.match(body["user_id"]):
            body["user_id"] = PLATFORM_USER
    if isinstance(body.get("expires_at"), str) and "/admin-roles" in case.path:
        body["expires_at"] = in_the_future(body["expires_at"])
    passing_policy(body)
    native_schemes_for_native_apps(body)
    if "/identity-providers" in case.path:
        provider_config(case, body)
