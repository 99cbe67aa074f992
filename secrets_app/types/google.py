"""google: a service-account key (the JSON file's fields), checked by getting a token.

The check signs a JWT with the private key and exchanges it at ``token_uri``, exactly what
any client library does first; google-auth is imported only then. Every URL in the key must
be one of Google's own endpoints (or one the operator added), so a key cannot send the
server anywhere else.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ValidationError

from pipeline_secrets.core.outbound import OutboundRefusedError, check_url
from secrets_app.types.base import Field
from secrets_app.types.pem import load_private_key
from secrets_app.types.remote import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    CredentialType,
    answer_error,
    check_endpoint,
    endpoint_allowed,
    provider_error,
    refused_error,
)

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
# Where Google's key files point (older files use accounts.google.com for the token too).
# Other universes' hosts are not listed: an operator who needs one adds it to
# PROVIDER_EXTRA_ENDPOINTS; a key's universe_domain never widens the list.
GOOGLE_HOSTS = frozenset({"oauth2.googleapis.com", "accounts.google.com", "www.googleapis.com"})
NOT_GOOGLE = (
    "Must be an https:// URL on oauth2.googleapis.com, accounts.google.com or www.googleapis.com."
)
DEFAULT_UNIVERSE = "googleapis.com"


def check_shape(values: dict[str, str]) -> None:
    errors: dict[str, str] = {}
    if values["type"] != "service_account":
        errors["values.type"] = "Must be service_account."
    for name in ("project_id", "private_key_id", "client_id", "universe_domain"):
        if values.get(name) and not TOKEN_RE.fullmatch(values[name]):
            errors[f"values.{name}"] = "Must be one word without whitespace."
    key, reason = load_private_key(values["private_key"])
    if key is None:
        errors["values.private_key"] = reason
    if not EMAIL_RE.fullmatch(values["client_email"]):
        errors["values.client_email"] = "Must be an email address."
    for name in URL_FIELDS:
        if not endpoint_allowed(values[name], GOOGLE_HOSTS):
            errors[f"values.{name}"] = NOT_GOOGLE
    if errors:
        raise ValidationError(errors)


def service_account_json(values: dict[str, str]) -> str:
    """The key file as Google's tools read it (GOOGLE_APPLICATION_CREDENTIALS)."""
    return json.dumps({k: values[k] for k in (*REQUIRED, *OPTIONAL) if values.get(k)}, indent=2)


def _transport(session: Any) -> Any:
    """google-auth's requests transport, allowed one request: to an allowed endpoint outside
    the denied networks, with short timeouts and no redirect followed. ``status`` keeps the
    HTTP status of the answer."""
    from google.auth import exceptions
    from google.auth.transport.requests import Request

    class OneRequest(Request):
        status: int | None = None
        sent = False

        def __call__(self, url: str, *args: Any, **kwargs: Any) -> Any:
            if self.sent:
                # google-auth retries some answers; one attempt is enough to judge a key.
                raise exceptions.RefreshError("no second request")
            if not endpoint_allowed(url, GOOGLE_HOSTS):
                raise OutboundRefusedError("not an allowed Google endpoint")
            check_url(url)
            self.sent = True
            # google-auth waits up to 120 s by default; a form submit cannot.
            kwargs["timeout"] = (CONNECT_TIMEOUT, READ_TIMEOUT)
            # A redirect is reported as the answer it is. (Not max_redirects=0: requests
            # then raises before the caller sees the status.)
            kwargs["allow_redirects"] = False
            response = super().__call__(url, *args, **kwargs)
            self.status = int(response.status)
            return response

    return OneRequest(session)


def fetch_token(values: dict[str, str]) -> None:
    """Exchange a signed JWT for a token at token_uri; a ValidationError naming Google if not."""
    import requests
    from google.auth import exceptions
    from google.oauth2 import service_account

    if values.get("universe_domain", DEFAULT_UNIVERSE) != DEFAULT_UNIVERSE:
        # google-auth signs its own token for other universes and asks nobody.
        raise ValidationError(
            {
                "values.universe_domain": f"Only {DEFAULT_UNIVERSE} keys can be checked with "
                "Google; store this one with validate=false."
            }
        )
    check_endpoint(values["token_uri"], field="values.token_uri")
    info = {k: values[k] for k in (*REQUIRED, *OPTIONAL) if values.get(k)}
    try:
        credentials = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
    except (ValueError, exceptions.GoogleAuthError):
        raise provider_error(
            "Google", "could not use the key", field="values.private_key"
        ) from None
    with requests.Session() as session:
        request = _transport(session)
        try:
            credentials.refresh(request)
        except OutboundRefusedError:
            raise refused_error("values.token_uri") from None
        except exceptions.TransportError:
            raise provider_error("Google", "could not be reached") from None
        except Exception:
            # A refusal, or an answer google-auth could not read: the status tells which.
            raise answer_error(
                "Google", request.status, rejected="rejected the service account"
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
