"""generic: any key/value pairs, no schema, nothing generated."""

from __future__ import annotations

from secrets_app.types.base import SecretType


class GenericType(SecretType):
    name = "generic"
    description = "Any key/value pairs, without a schema or generation."
    sourcing = "env"
    strict = False


TYPE = GenericType()
