"""htpasswd: an HTTP Basic Auth file line, ``username:`` + bcrypt hash (cost 10).

The plain password is kept beside the line (given or generated), so whoever needs to log in
can read it back; only the line is installed into clusters. A line supplied without a
password is stored as it is: its password is then unknown to the product.
"""

from __future__ import annotations

import re

import bcrypt
from django.core.exceptions import ValidationError

from secrets_app.types.base import Context, Field, Prepared, SecretType
from secrets_app.types.password import (
    PASSWORD_HELP,
    PASSWORD_WORDS,
    resolve_password,
    rotate_password,
)

BCRYPT_COST = 10
USERNAME_RE = re.compile(r"^[^:\s]{1,255}$")
BCRYPT_RE = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")
# bcrypt reads no more of a password than this; a longer one is refused, not cut short.
BCRYPT_MAX_BYTES = 72


def htpasswd_line(username: str, password: str, *, rounds: int = BCRYPT_COST) -> str:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()
    # $2b$ and $2y$ are the same algorithm; Apache's tools write and best accept $2y$.
    return f"{username}:$2y${hashed[4:]}"


def line_takes(line: str, username: str, password: str) -> bool:
    """Whether ``line`` is ``username``'s and its bcrypt hash takes ``password``."""
    user, sep, hashed = line.partition(":")
    if not sep or user != username or not BCRYPT_RE.fullmatch(hashed):
        return False
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:  # a password longer than bcrypt reads
        return False


class HtpasswdType(SecretType):
    name = "htpasswd"
    description = (
        "An htpasswd file line for HTTP Basic Auth (nginx, Apache), bcrypt cost 10, with its "
        "password."
    )
    sourcing = "volume"
    fields = (
        Field("username", required=True, safe_to_display=True, description="The user name."),
        Field(
            "password",
            generatable=True,
            opaque=True,
            description=PASSWORD_HELP + " Kept so it can be read back; never installed.",
            help=PASSWORD_WORDS + " Kept so it can be read back; never installed.",
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
        password, generated = resolve_password(
            values.get("password"), ctx.rng, specs=ctx.password_specs
        )
        if len(password.encode()) > BCRYPT_MAX_BYTES:
            raise ValidationError(
                {"values.password": f"bcrypt takes at most {BCRYPT_MAX_BYTES} bytes of a password."}
            )
        line = values.get("htpasswd", "")
        # An update that keeps username and password keeps the line too (no new salt for
        # nothing); a changed username or password gets a new line.
        if generated or not line_takes(line, username, password):
            line = htpasswd_line(username, password)
        stored = {"username": username, "password": password, "htpasswd": line}
        return Prepared(values=stored, generated={"password": password} if generated else {})

    rotatable = True

    def rotate(self, values: dict[str, str], ctx: Context) -> Prepared:
        # A line stored without its password is rotated to a default-spec password.
        password = rotate_password(values.get("password") or "", ctx.rng)
        username = values["username"]
        line = htpasswd_line(username, password)
        stored = {"username": username, "password": password, "htpasswd": line}
        return Prepared(values=stored, generated={"password": password, "htpasswd": line})

    def install_data(self, values: dict[str, str]) -> dict[str, str]:
        # Mounted as a file for the web server: the htpasswd line is all it needs, and the
        # plain password stays out of the cluster.
        return {"htpasswd": values["htpasswd"]}

    def verify(self, values: dict[str, str], ctx: Context) -> Prepared:
        checked = self._check_shape(values)
        self._check_required(checked, include_generatable=True)
        self._check_line(checked["username"], checked["htpasswd"])
        password = checked.get("password")
        if password and not line_takes(checked["htpasswd"], checked["username"], password):
            raise ValidationError({"values.htpasswd": "Does not match the stored password."})
        return Prepared(values=checked)

    @staticmethod
    def _check_line(username: str, line: str) -> None:
        user, sep, hashed = line.partition(":")
        if not sep or user != username:
            raise ValidationError({"values.htpasswd": "Must be 'username:hash' for this username."})
        if not BCRYPT_RE.fullmatch(hashed):
            raise ValidationError({"values.htpasswd": "The hash must be a bcrypt hash ($2y$...)."})


TYPE = HtpasswdType()
