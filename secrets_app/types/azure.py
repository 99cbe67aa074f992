"""azure: a service principal's client secret, checked by getting an ARM token.

The authority comes from the server's environment (AZURE_AUTHORITY_HOST, for sovereign
clouds and private endpoints), never from the secret: a tenant's values are GUIDs and a
secret, none of which names a host. azure-identity is imported only when a check runs.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlparse

from django.core.exceptions import ValidationError

from pipeline_secrets.core.outbound import OutboundRefusedError, check_url
from secrets_app.types.base import Field
from secrets_app.types.remote import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    CredentialType,
    answer_error,
    check_endpoint,
    provider_error,
    refused_error,
)

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
        if not GUID_RE.fullmatch(values[name])
    }
    secret = values["AZURE_CLIENT_SECRET"]
    if secret != secret.strip() or len(secret) > 1024 or not secret.isprintable():
        errors["values.AZURE_CLIENT_SECRET"] = (
            "Must be printable, at most 1024 characters, without surrounding whitespace."
        )
    if errors:
        raise ValidationError(errors)


def authority() -> str:
    """The authority URL azure-identity would use: AZURE_AUTHORITY_HOST or the public cloud."""
    configured = (os.environ.get("AZURE_AUTHORITY_HOST") or DEFAULT_AUTHORITY).strip().rstrip("/")
    return configured if "://" in configured else f"https://{configured}"


def failure(exc: BaseException, status: int | None) -> ValidationError:
    """The error for a token request that failed. azure-identity wraps network failures in
    an authentication error; the cause tells a wrong secret from an authority that could not
    be reached."""
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    cause: BaseException | None = exc
    while cause is not None and not isinstance(
        cause, ServiceRequestError | ServiceResponseError | OutboundRefusedError
    ):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, OutboundRefusedError):
        return refused_error()
    if cause is not None:
        return provider_error("Azure", "could not be reached")
    return answer_error("Azure", status, rejected="did not accept the credentials")


def fetch_token(values: dict[str, str]) -> None:
    """Get a token with the client secret; a ValidationError naming Azure when refused."""
    from azure.core.exceptions import AzureError
    from azure.identity import ClientSecretCredential

    url = authority()
    host = urlparse(url).hostname or DEFAULT_AUTHORITY
    check_endpoint(url)
    statuses: list[int] = []

    def before_send(request: Any) -> None:
        # The token endpoint comes from the authority's metadata: checked like the authority.
        check_url(request.http_request.url)

    def after_answer(response: Any) -> None:
        statuses.append(int(response.http_response.status_code))

    credential = ClientSecretCredential(
        values["AZURE_TENANT_ID"],
        values["AZURE_CLIENT_ID"],
        values["AZURE_CLIENT_SECRET"],
        authority=url,
        connection_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retry_total=0,
        # azure-core's transport never follows redirects; this keeps a redirect policy out
        # should a later version add one.
        permit_redirects=False,
        raw_request_hook=before_send,
        raw_response_hook=after_answer,
        # Instance discovery asks the public cloud about the host; a private authority
        # (Azure Stack, a test endpoint) is unknown there and would never validate.
        disable_instance_discovery=host not in SCOPES,
    )
    try:
        credential.get_token(SCOPES.get(host, SCOPES[DEFAULT_AUTHORITY]))
    except OutboundRefusedError:
        raise refused_error() from None
    except AzureError as exc:
        raise failure(exc, statuses[-1] if statuses else None) from None
    except ValueError:
        raise provider_error("Azure", "could not use the credentials") from None
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
