"""vault: a token for a HashiCorp Vault or OpenBao server.

The token is not checked with any Vault: the server it belongs to is not part of the secret,
and this product does not call addresses its tenants choose. Its shape is checked only as a
header value (root tokens of development servers may be any word).
"""

from __future__ import annotations

from secrets_app.types.base import Field
from secrets_app.types.shapes import ShapedType

TOKEN = "token"


class VaultType(ShapedType):
    name = "vault"
    description = "A Vault (or OpenBao) token; not checked with any Vault server."
    sourcing = "env"
    fields = (
        Field(TOKEN, required=True, opaque=True, description="The token (hvs.... or s....)."),
    )
    tokens = (TOKEN,)


TYPE = VaultType()
