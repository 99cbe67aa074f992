"""azure: a service principal's client secret, checked by getting an ARM token.

azure-identity honours AZURE_AUTHORITY_HOST for sovereign clouds and private endpoints;
it is imported only when a check runs.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlparse

from django.core.exceptions import ValidationError

from secrets_app.types._remote import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    CredentialType,
    provider_error,
)
from secrets_app.types.base import Field

GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
GUID_FIELDS = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID")
DEFAULT_AUTHORITY = "login.microsoftonline.com"
# The management (ARM) scope of each cloud, by its authority host: a token for another
# cloud's resource is refused even when the secret is right.
SCOPES = {
    "login.microsoftonline.com": "https://management.azure.com/.default",
    "login.chinacloudapi.cn": "https://management.chinacloudapi.cn/.default",
    "login.microsoftonline.us": "https://management.usgovcloudapi.net/.default",
}


def check_shape(values: dict[str, str]) -> None:
    errors = {
        f"values.{name}": "Must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)."
        for name in GUID_FIELDS
        if not GUID_RE.match(values[name])
    }
    secret = values["AZURE_CLIENT_SECRET"]
    if secret != secret.strip() or len(secret) > 1024 or not secret.isprintable():
        errors["values.AZURE_CLIENT_SECRET"] = (
            "Must be printable, at most 1024 characters, without surrounding whitespace."
        )
    if errors:
        raise ValidationError(errors)


def fetch_token(values: dict[str, str]) -> None:
    """Get a token with the client secret; a ValidationError naming Azure when refused."""
    from azure.core.exceptions import AzureError, ServiceRequestError, ServiceResponseError
    from azure.identity import ClientSecretCredential

    host = urlparse(os.environ.get("AZURE_AUTHORITY_HOST") or DEFAULT_AUTHORITY).hostname
    host = host or DEFAULT_AUTHORITY
    secret = values["AZURE_CLIENT_SECRET"]
    credential = ClientSecretCredential(
        values["AZURE_TENANT_ID"],
        values["AZURE_CLIENT_ID"],
        secret,
        connection_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retry_total=0,
        # Instance discovery asks the public cloud about the host; a private authority
        # (Azure Stack, a test endpoint) is unknown there and would never validate.
        disable_instance_discovery=host not in SCOPES,
    )
    try:
        credential.get_token(SCOPES.get(host, SCOPES[DEFAULT_AUTHORITY]))
    except AzureError as exc:
        message = getattr(exc, "message", None) or exc
        # azure-identity wraps network failures in an authentication error; the cause
        # tells a wrong secret from an authority that could not be reached.
        cause: BaseException | None = exc
        while cause is not None and not isinstance(
            cause, ServiceRequestError | ServiceResponseError
        ):
            cause = cause.__cause__ or cause.__context__
        what = "could not be reached" if cause else "did not accept the credentials"
        raise provider_error("Azure", what, message, hide=[secret]) from None
    except ValueError as exc:
        raise provider_error("Azure", "could not use the credentials", exc, hide=[secret]) from None
    finally:
        credential.close()


class AzureType(CredentialType):
    name = "azure"
    description = "An Azure service principal (client secret); verified by obtaining a token."
    sourcing = "env"
    fields = (
        Field("AZURE_CLIENT_ID", required=True, safe_to_display=True, description="App id."),
        Field("AZURE_CLIENT_SECRET", required=True, description="The client secret."),
        Field("AZURE_TENANT_ID", required=True, safe_to_display=True, description="Tenant id."),
        Field(
            "AZURE_SUBSCRIPTION_ID",
            required=True,
            safe_to_display=True,
            description="The subscription id.",
        ),
    )

    def check_shape(self, values: dict[str, str]) -> None:
        check_shape(values)

    def verify_remotely(self, values: dict[str, str]) -> None:
        fetch_token(values)


TYPE = AzureType()
