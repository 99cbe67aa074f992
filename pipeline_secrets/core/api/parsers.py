"""The API's request body parser: DRF's JSON parser over ``safejson``, so a document nested
too deeply is a 400 problem document like any other malformed body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json as drf_json

from pipeline_secrets.core import safejson


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = str((parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET)
        try:
            "".encode(encoding)  # text codecs only: a bytes codec could inflate the body
        except (LookupError, UnicodeError):
            raise ParseError(f"Unsupported charset {encoding!r}.") from None
        parse_constant = drf_json.strict_constant if self.strict else None
        try:
            text = stream.read().decode(encoding)
            return safejson.loads(text, parse_constant=parse_constant)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
