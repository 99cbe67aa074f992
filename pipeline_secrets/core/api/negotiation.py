"""Content negotiation with a short path for the API's usual request.

The API renders JSON only. A request that accepts anything or JSON, names no format and
reaches a view with the one JSON renderer gets it without parsing the Accept header; any
other request is negotiated as DRF always does (a 406 when nothing fits)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

PLAIN_ACCEPTS = frozenset({"", "*/*", "application/json"})


class JsonFirstNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str] | Any:
        renderers = list(renderers)
        if (
            len(renderers) == 1
            and type(renderers[0]) is JSONRenderer
            and format_suffix is None
            and request.META.get("HTTP_ACCEPT", "").strip() in PLAIN_ACCEPTS
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
