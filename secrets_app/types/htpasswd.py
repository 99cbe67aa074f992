"""htpasswd: an HTTP Basic Auth file line, ``username:`` + bcrypt hash (cost 10).

The password is bcrypt-ed before it reaches Vault and only the hash is stored; a generated
password is returned once, in the answer to the request that generated it.
"""

from __future__ import annotations

import re

import bcrypt
from django.core.exceptions import ValidationError

from secrets_app.types.base import Context, Field, Prepared, SecretType
from secrets_app.types.password import PASSWORD_HELP, resolve_password

BCRYPT_COST = 10
USERNAME_RE = re.compile(r"^[^:\s]{1,255}$")
BCRYPT_RE = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")


def htpasswd_line(username: str, password: str, *, rounds: int = BCRYPT_COST) -> str:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()
    # $2b$ and $2y$ are the same algorithm; Apache's tools write and best accept $2y$.
    return f"{username}:$2y${hashed[4:]}"


class HtpasswdType(SecretType):
    name = "htpasswd"
    description = "An htpasswd file line for HTTP Basic Auth (nginx, Apache), bcrypt cost 10."
    sourcing = "volume"
    fields = (
        Field("username", required=True, safe_to_display=True, description="The user name."),
        Field(
            "password",
            generatable=True,
            opaque=True,
            description=PASSWORD_HELP + " Only its bcrypt hash is stored.",
        ),
        Field(
            "htpasswd",
            required=True,
            generatable=True,
            description="username:bcrypt-hash, computed from the password.",
        ),
    )

    def prepare(self, values: dict[str, str], ctx: Context) -> Prepared:
        username = values["username"]
        if not USERNAME_RE.fullmatch(username):
            raise ValidationError(
                {"values.username": "Must be 1-255 characters without ':' or whitespace."}
            )
        if values.get("htpasswd") and not values.get("password"):
            self._check_line(username, values["htpasswd"])
            return Prepared(values={"username": username, "htpasswd": values["htpasswd"]})
        password, generated = resolve_password(values.get("password"), ctx.rng)
        stored = {"username": username, "htpasswd": htpasswd_line(username, password)}
        return Prepared(values=stored, generated={"password": password} if generated else {})

    def install_data(self, values: dict[str, str]) -> dict[str, str]:
        # Mounted as a file for the web server: the htpasswd line is all it needs.
        return {"htpasswd": values["htpasswd"]}

    def verify(self, values: dict[str, str], ctx: Context) -> Prepared:
        checked = self._check_shape(values)
        self._check_required(checked, include_generatable=True)
        self._check_line(checked["username"], checked["htpasswd"])
        return Prepared(values=checked)

    @staticmethod
    def _check_line(username: str, line: str) -> None:
        user, sep, hashed = line.partition(":")
        if not sep or user != username:
            raise ValidationError({"values.htpasswd": "Must be 'username:hash' for this username."})
        if not BCRYPT_RE.fullmatch(hashed):
            raise ValidationError({"values.htpasswd": "The hash must be a bcrypt hash ($2y$...)."})


TYPE = HtpasswdType()
