"""Schemathesis hooks for scripts/contract (loaded through SCHEMATHESIS_HOOKS)."""

import os
import re

import schemathesis

# The platform partner and tenant: the signed-in super admin's home. Suspending, moving or
# deleting them ends its session, and every later request of the run would be a 401.
PROTECTED = set(os.environ.get("CONTRACT_PROTECTED_IDS", "").split())
# A partner made for the run. Random well-formed partner ids name nothing, so without it
# almost every valid tenant body is a 404 and the body's own rules are never reached.
PARTNER = os.environ.get("CONTRACT_PARTNER_ID", "")
PARTNER_ID = re.compile(r"^prt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$")


@schemathesis.hook
def before_call(context, case, kwargs):
    for name, value in (case.path_parameters or {}).items():
        if value in PROTECTED:
            # Same shape, names nothing: the request still goes out and is answered 404.
            case.path_parameters[name] = value[:4] + "0" * 26
    body = case.body
    if PARTNER and isinstance(body, dict) and isinstance(body.get("partner_id"), str):
        if PARTNER_ID.match(body["partner_id"]):
            body["partner_id"] = PARTNER
