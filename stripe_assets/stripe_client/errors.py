"""Errors the Stripe client raises, each with a message that says what to do next.

No message ever contains an API key: keys are shown masked to their last 4 characters.
"""

from __future__ import annotations

from typing import Any


def mask_key(key: str | None) -> str:
    """`sk_live_...abcd`: enough to tell keys apart, never enough to use one."""
    if not key:
        return "<empty>"
    prefix = next((p for p in ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_",
                               "pk_live_") if key.startswith(p)), "")
    return f"{prefix}...{key[-4:]}" if len(key) > len(prefix) + 4 else f"{prefix}..."


class StripeClientError(Exception):
    """Base class: anything that stops a Stripe request from giving usable data."""


class StripeConfigError(StripeClientError):
    """The client is set up in a way that can never work (no key, publishable key, ...)."""


class StripeAPIError(StripeClientError):
    """Stripe answered with an error that retrying will not fix."""

    def __init__(self, message: str, *, status: int | None = None,
                 error: dict[str, Any] | None = None, request_id: str | None = None):
        super().__init__(message)
        self.status = status
        self.error = error or {}
        self.request_id = request_id

    @property
    def code(self) -> str | None:
        return self.error.get("code")


class StripeAuthenticationError(StripeAPIError):
    """401: the key is wrong, expired or revoked."""


class StripePermissionError(StripeAPIError):
    """403: a restricted key lacks the permission for this resource."""


class StripeAccountAccessError(StripeAPIError):
    """403 on every request: the key may not act on the Connect account in `Stripe-Account`."""


class StripeInvalidRequestError(StripeAPIError):
    """400/404: the request itself is wrong (bad parameter, unknown id)."""


class StripeRetriesExhaustedError(StripeClientError):
    """A transient failure outlasted the retry budget."""


class StripeResponseError(StripeClientError):
    """Stripe (or the server at STRIPE_API_BASE) answered 200 with something unusable."""
