"""registry: a container registry login, installed as a ``.dockerconfigjson`` document."""

from __future__ import annotations

import base64
import json
import re

from django.core.exceptions import ValidationError

from secrets_app.types.base import Context, Field, Prepared, SecretType

# A host (name, IPv4 or [IPv6]) with an optional port, optionally as an http(s) URL with a
# path, as `docker login` and Kubernetes both accept (https://index.docker.io/v1/).
SERVER_RE = re.compile(
    r"^(?:https?://)?(?:[A-Za-z0-9](?:[-A-Za-z0-9.]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
    r"(?::\d{1,5})?(?:/\S*)?$"
)
# The username goes before the ':' of the basic-auth pair, so it cannot contain one.
USERNAME_RE = re.compile(r"^[^:\s]{1,255}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def dockerconfigjson(values: dict[str, str]) -> str:
    """The ``.dockerconfigjson`` content of a ``kubernetes.io/dockerconfigjson`` Secret."""
    pair = f"{values['username']}:{values['password']}".encode()
    entry = {
        "username": values["username"],
        "password": values["password"],
        **({"email": values["email"]} if values.get("email") else {}),
        "auth": base64.b64encode(pair).decode(),
    }
    return json.dumps({"auths": {values["server"]: entry}})


class RegistryType(SecretType):
    name = "registry"
    description = "A container registry login (docker config JSON)."
    sourcing = "volume"
    kubernetes_type = "kubernetes.io/dockerconfigjson"
    fields = (
        Field(
            "server",
            required=True,
            safe_to_display=True,
            description="Registry host[:port] or URL, such as ghcr.io.",
        ),
        Field("username", required=True, safe_to_display=True, description="The login name."),
        Field("password", required=True, description="The password or access token."),
        Field("email", safe_to_display=True, description="Optional email of the account."),
    )

    def install_data(self, values: dict[str, str]) -> dict[str, str]:
        data = super().install_data(values)
        data[".dockerconfigjson"] = dockerconfigjson(values)
        return data

    def prepare(self, values: dict[str, str], ctx: Context) -> Prepared:
        errors: dict[str, str] = {}
        if len(values["server"]) > 512 or not SERVER_RE.fullmatch(values["server"]):
            errors["values.server"] = "Must be a registry host[:port] or an http(s) URL."
        if not USERNAME_RE.fullmatch(values["username"]):
            errors["values.username"] = "Must be 1-255 characters without ':' or whitespace."
        if values.get("email") and not EMAIL_RE.fullmatch(values["email"]):
            errors["values.email"] = "Must be an email address."
        if errors:
            raise ValidationError(errors)
        return Prepared(values=values)


TYPE = RegistryType()
