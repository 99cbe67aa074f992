"""fn: the master token of an Fn (serverless functions) deployment."""

from __future__ import annotations

from secrets_app.types.base import Field
from secrets_app.types.shapes import ShapedType

TOKEN = "master_token"


class FnType(ShapedType):
    name = "fn"
    description = "The master token of an Fn functions platform."
    sourcing = "env"
    fields = (Field(TOKEN, required=True, description="The Fn master token."),)
    tokens = (TOKEN,)


TYPE = FnType()
