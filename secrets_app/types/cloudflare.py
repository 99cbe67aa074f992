"""cloudflare: a Cloudflare account's global API key and the account's email address.

Both fields are opaque, as in the original product: the product itself uses them (DNS
records for a cluster's ingress), so they are not installed into clusters. The key is not
checked with Cloudflare: only its shape and the email's are.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from secrets_app.types.base import Context, Field, Prepared, SecretType
from secrets_app.types.shapes import raise_if, token_errors

KEY, EMAIL = "CF_API_KEY", "CF_API_EMAIL"


class CloudflareType(SecretType):
    name = "cloudflare"
    description = "A Cloudflare API key and the email address of its account (DNS)."
    sourcing = "env"
    fields = (
        Field(KEY, required=True, opaque=True, description="The account's global API key."),
        Field(
            EMAIL,
            required=True,
            opaque=True,
            safe_to_display=True,
            description="The email address of the Cloudflare account.",
        ),
    )

    def prepare(self, values: dict[str, str], ctx: Context) -> Prepared:
        errors = token_errors(values, [KEY])
        try:
            validate_email(values[EMAIL])
        except ValidationError:
            errors[f"values.{EMAIL}"] = "Must be an email address."
        raise_if(errors)
        return Prepared(values=values)


TYPE = CloudflareType()
