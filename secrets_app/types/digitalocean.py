"""digitalocean: a DigitalOcean API token.

Opaque and safe to display, as the original product flags it. Its shape is checked
(``dop_v1_``/``doo_v1_``/``dor_v1_`` and 64 hex digits, or the 64 hex digits of a token made
before the prefixes); DigitalOcean is not asked.
"""

from __future__ import annotations

import re

from secrets_app.types.base import Field
from secrets_app.types.shapes import ShapedType

TOKEN = "DO_TOKEN"
TOKEN_RE = re.compile(r"^(?:do[opr]_v1_)?[0-9a-f]{64}$")


class DigitalOceanType(ShapedType):
    name = "digitalocean"
    description = "A DigitalOcean API token."
    sourcing = "env"
    fields = (
        Field(
            TOKEN,
            required=True,
            opaque=True,
            safe_to_display=True,
            description="A personal access token (dop_v1_...) or an OAuth token.",
        ),
    )
    shapes = {
        TOKEN: (
            TOKEN_RE,
            "Must be a DigitalOcean token: dop_v1_, doo_v1_ or dor_v1_ followed by 64 "
            "lowercase hex digits.",
        )
    }


TYPE = DigitalOceanType()
