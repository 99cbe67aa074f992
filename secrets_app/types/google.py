"""google: a service-account key (the JSON file's fields), checked by getting a token.

The check signs a JWT with the private key and exchanges it at ``token_uri``, exactly what
any client library does first; google-auth is imported only then.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlparse

from django.core.exceptions import ValidationError

from secrets_app.types import _pem
from secrets_app.types._remote import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    CredentialType,
    provider_error,
)
from secrets_app.types.base import Field

REQUIRED = (
    "type",
    "project_id",
    "private_key_id",
    "private_key",
    "client_email",
    "client_id",
    "auth_uri",
    "token_uri",
    "auth_provider_x509_cert_url",
    "client_x509_cert_url",
)
URL_FIELDS = ("auth_uri", "token_uri", "auth_provider_x509_cert_url", "client_x509_cert_url")
# Key files made today carry this too; refusing it would refuse every fresh download.
OPTIONAL = ("universe_domain",)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOKEN_RE = re.compile(r"^\S{1,1024}$")
SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def check_shape(values: dict[str, str]) -> None:
    errors: dict[str, str] = {}
    if values["type"] != "service_account":
        errors["values.type"] = "Must be service_account."
    for name in ("project_id", "private_key_id", "client_id", "universe_domain"):
        if values.get(name) and not TOKEN_RE.match(values[name]):
            errors[f"values.{name}"] = "Must be one word without whitespace."
    key, reason = _pem.load_private_key(values["private_key"])
    if key is None:
        errors["values.private_key"] = reason
    if not EMAIL_RE.match(values["client_email"]):
        errors["values.client_email"] = "Must be an email address."
    for name in URL_FIELDS:
        url = urlparse(values[name])
        if url.scheme != "https" or not url.hostname:
            errors[f"values.{name}"] = "Must be an https:// URL."
    if errors:
        raise ValidationError(errors)


def service_account_json(values: dict[str, str]) -> str:
    """The key file as Google's tools read it (GOOGLE_APPLICATION_CREDENTIALS)."""
    return json.dumps({k: values[k] for k in (*REQUIRED, *OPTIONAL) if values.get(k)}, indent=2)


def fetch_token(values: dict[str, str]) -> None:
    """Exchange a signed JWT for a token at token_uri; a ValidationError naming Google if not."""
    from google.auth import exceptions
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account

    class TimedRequest(Request):
        # google-auth waits up to 120 s by default; a form submit cannot.
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            kwargs["timeout"] = (CONNECT_TIMEOUT, READ_TIMEOUT)
            return super().__call__(*args, **kwargs)

    hide = [values["private_key"]]
    info = {k: values[k] for k in (*REQUIRED, *OPTIONAL) if values.get(k)}
    try:
        credentials = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
        credentials.refresh(TimedRequest())
    except exceptions.TransportError as exc:
        raise provider_error("Google", "could not be reached", exc, hide=hide) from None
    except exceptions.RefreshError as exc:
        detail = exc.args[0] if exc.args else exc
        raise provider_error("Google", "rejected the service account", detail, hide=hide) from None
    except (ValueError, exceptions.GoogleAuthError) as exc:
        raise provider_error(
            "Google", "could not use the key", exc, hide=hide, field="values.private_key"
        ) from None


class GoogleType(CredentialType):
    name = "google"
    description = "A Google Cloud service-account key; verified by obtaining a token."
    sourcing = "volume"
    fields = (
        Field("type", required=True, safe_to_display=True, description="service_account."),
        Field("project_id", required=True, safe_to_display=True, description="The project."),
        Field("private_key_id", required=True, safe_to_display=True, description="Key id."),
        Field("private_key", required=True, description="The PEM private key."),
        Field(
            "client_email",
            required=True,
            safe_to_display=True,
            description="The service account's email.",
        ),
        Field("client_id", required=True, safe_to_display=True, description="Client id."),
        Field("auth_uri", required=True, safe_to_display=True, description="https URL."),
        Field("token_uri", required=True, safe_to_display=True, description="https URL."),
        Field(
            "auth_provider_x509_cert_url",
            required=True,
            safe_to_display=True,
            description="https URL.",
        ),
        Field(
            "client_x509_cert_url", required=True, safe_to_display=True, description="https URL."
        ),
        Field(
            "universe_domain",
            safe_to_display=True,
            description="Optional; present in newer key files (googleapis.com).",
        ),
    )

    def check_shape(self, values: dict[str, str]) -> None:
        check_shape(values)

    def verify_remotely(self, values: dict[str, str]) -> None:
        fetch_token(values)


TYPE = GoogleType()
