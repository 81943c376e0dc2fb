"""Stripe's error responses: status, body shape and wording.

Body: {"error": {"code", "doc_url", "message", "param", "request_log_url", "type"}}, keys
without a value left out, as Stripe does.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from stripe_assets.endpoints import ENDPOINTS
from stripe_assets.sandbox.shapes import ACCOUNT_ID

INVALID_REQUEST = "invalid_request_error"
API_ERROR = "api_error"
RATE_LIMIT = "rate_limit_error"


@dataclass
class StripeError(Exception):
    """An error the API answers with; raise it anywhere below the router."""

    status: int
    message: str
    type: str = INVALID_REQUEST
    code: str | None = None
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self, request_id: str) -> bytes:
        error: dict[str, object] = {}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = "https://stripe.com/docs/error-codes/" + self.code.replace("_", "-")
        error["message"] = self.message
        if self.param:
            error["param"] = self.param
        error["request_log_url"] = (
            f"https://dashboard.stripe.com/test/logs/{request_id}?t={int(time.time())}"
        )
        error["type"] = self.type
        return json.dumps({"error": error}, indent=2).encode()


def object_name(kind: str) -> str:
    """The word Stripe uses in "No such charge: '...'": charges -> charge."""
    return ENDPOINTS[kind].object_type


def no_such(kind: str, id: str, param: str | None, status: int = 404) -> StripeError:
    return StripeError(
        status, f"No such {object_name(kind)}: '{id}'", code="resource_missing", param=param
    )


def unknown_parameter(name: str) -> StripeError:
    return StripeError(
        400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name
    )


def invalid_integer(param: str, value: str) -> StripeError:
    return StripeError(
        400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=param
    )


def missing_parameter(param: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    return StripeError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or "
        "we can help at https://support.stripe.com/. (The stripe-assets sandbox implements "
        "only the requests this project makes.)",
    )


def mask_key(key: str) -> str:
    """A key as Stripe echoes it: its kind prefix, stars, and only the last 4 characters."""
    prefix = ""
    for candidate in ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_"):
        if key.startswith(candidate):
            prefix = candidate
            break
    rest = key[len(prefix) :]
    if len(rest) <= 8:  # too short to show any of it safely
        return prefix + "*" * len(rest)
    return prefix + "*" * (len(rest) - 4) + rest[-4:]


def missing_key() -> StripeError:
    return StripeError(
        401,
        "You did not provide an API key. You need to provide your API key in the Authorization "
        "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
        "https://stripe.com/docs/api#authentication for details, or we can help at "
        "https://support.stripe.com/.",
        headers={"WWW-Authenticate": 'Basic realm="Stripe"'},
    )


def invalid_key(key: str) -> StripeError:
    return StripeError(
        401,
        f"Invalid API Key provided: {mask_key(key)}",
        headers={"WWW-Authenticate": 'Basic realm="Stripe"'},
    )


def expired_key(key: str) -> StripeError:
    return StripeError(
        401,
        f"Expired API Key provided: {mask_key(key)}. Roll your API keys in the Dashboard: "
        "https://dashboard.stripe.com/apikeys",
        code="api_key_expired",
        headers={"WWW-Authenticate": 'Basic realm="Stripe"'},
    )


def publishable_key() -> StripeError:
    return StripeError(
        401,
        "This API call cannot be made with a publishable API key. Please use a secret API key. "
        "You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.",
        code="secret_key_required",
    )


def permission_denied(key: str, permission: str) -> StripeError:
    return StripeError(
        403,
        f"The provided key '{mask_key(key)}' does not have the required permissions for this "
        f"endpoint on account '{ACCOUNT_ID}'. Having the '{permission}' permission would allow "
        "this request to continue.",
    )


def account_access_denied(key: str, account: str) -> StripeError:
    """A `Stripe-Account` header naming an account the key's platform is not connected to."""
    return StripeError(
        403,
        f"The provided key '{mask_key(key)}' does not have access to account '{account}' (or "
        "that account does not exist). Application access may have been revoked.",
        code="account_invalid",
    )


def invalid_api_version(version: str) -> StripeError:
    return StripeError(400, f"Invalid Stripe API version: {version}")


def rate_limited() -> StripeError:
    return StripeError(
        429,
        "Request rate limit exceeded. You can learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
        type=RATE_LIMIT,
        code="rate_limit",
    )


def lock_timeout(status: int = 429) -> StripeError:
    """Stripe answers an object lock timeout with 429 `lock_timeout` (no rate limit reason)."""
    return StripeError(
        status,
        "This object cannot be accessed right now because another API request or Stripe process "
        "is currently accessing it. If you see this error intermittently, retry the request. If "
        "you see this error frequently and are making multiple concurrent requests to a single "
        "object, make your requests serially or at a lower rate.",
        code="lock_timeout",
    )


def api_error() -> StripeError:
    return StripeError(
        500,
        "An unknown error occurred. Please retry the request; if it keeps failing, contact "
        "support at https://support.stripe.com/.",
        type=API_ERROR,
    )
