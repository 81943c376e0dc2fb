"""The Stripe API client: one shared Dagster resource, its errors, retries and rate limit."""

from stripe_assets.stripe_client.errors import (
    StripeAccountAccessError,
    StripeAPIError,
    StripeAuthenticationError,
    StripeClientError,
    StripeConfigError,
    StripeInvalidRequestError,
    StripePermissionError,
    StripeResponseError,
    StripeRetriesExhaustedError,
    mask_key,
)
from stripe_assets.stripe_client.page import Page
from stripe_assets.stripe_client.resource import StripeClient
from stripe_assets.stripe_client.stats import RequestStats

__all__ = [
    "Page",
    "RequestStats",
    "StripeAPIError",
    "StripeAccountAccessError",
    "StripeAuthenticationError",
    "StripeClient",
    "StripeClientError",
    "StripeConfigError",
    "StripeInvalidRequestError",
    "StripePermissionError",
    "StripeResponseError",
    "StripeRetriesExhaustedError",
    "mask_key",
]
