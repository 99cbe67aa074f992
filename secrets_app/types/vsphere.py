"""vsphere: the login and placement of a vSphere (vCenter) endpoint for cluster nodes.

The URL must be an https URL without credentials in it; the fingerprint is the SHA-1 or
SHA-256 of the endpoint's certificate, as hex pairs separated by colons (as ``govc`` prints
it) or plain hex. vCenter is not contacted.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from secrets_app.types.base import Context, Field, Prepared, SecretType
from secrets_app.types.shapes import name_errors, raise_if

_PAIRS = r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})"
FINGERPRINT_RE = re.compile(
    rf"^(?:{_PAIRS}{{19}}|{_PAIRS}{{31}}|[0-9A-Fa-f]{{40}}|[0-9A-Fa-f]{{64}})$"
)
# Anything URL parsers may disagree on (spaces, backslashes, non-ASCII) is refused.
URL_RE = re.compile(r"^https://[!#-\[\]-~]+$")
PLACEMENT = (
    ("datacenter", "The datacenter the nodes are created in."),
    ("datastore", "The datastore of the nodes' disks."),
    ("resourcePool", "The resource pool of the nodes."),
    ("folder", "The VM folder of the nodes."),
    ("defaultNodeTemplate", "The VM template nodes are cloned from."),
)


def url_error(url: str) -> str | None:
    if len(url) > 2048 or not URL_RE.fullmatch(url):
        return "Must be an https URL, such as https://vcenter.example.com/sdk."
    parts = urlsplit(url)
    if not parts.hostname or "@" in parts.netloc:
        return "Must name a host, without a user or password in the URL."
    try:
        parts.port  # noqa: B018  (parsing the port is the check)
    except ValueError:
        return "The port must be a number from 1 to 65535."
    return None


class VsphereType(SecretType):
    name = "vsphere"
    description = "A vSphere endpoint, its login, and where cluster nodes are placed."
    sourcing = "env"
    fields = (
        Field(
            "url",
            required=True,
            safe_to_display=True,
            description="The vCenter URL, such as https://vcenter.example.com/sdk.",
        ),
        Field(
            "user",
            required=True,
            safe_to_display=True,
            description="The user name, such as administrator@vsphere.local.",
        ),
        Field("password", required=True, description="The user's password."),
        Field(
            "fingerprint",
            required=True,
            safe_to_display=True,
            description="SHA-1 or SHA-256 fingerprint of the endpoint's TLS certificate "
            "(AB:CD:... as govc prints it).",
        ),
        *(
            Field(name, required=True, safe_to_display=True, description=text)
            for name, text in PLACEMENT
        ),
    )

    def prepare(self, values: dict[str, str], ctx: Context) -> Prepared:
        errors = name_errors(values, ["user", *(name for name, _ in PLACEMENT)])
        problem = url_error(values["url"])
        if problem:
            errors["values.url"] = problem
        if not FINGERPRINT_RE.fullmatch(values["fingerprint"]):
            errors["values.fingerprint"] = (
                "Must be a SHA-1 (20 bytes) or SHA-256 (32 bytes) fingerprint in hex, "
                "colon-separated pairs or plain."
            )
        if len(values["password"]) > 1024:
            errors["values.password"] = "Must be at most 1024 characters."
        raise_if(errors)
        return Prepared(values=values)


TYPE = VsphereType()
