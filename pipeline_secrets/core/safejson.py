"""JSON from outside (request bodies, pasted or uploaded documents), parsed with a nesting
limit: Python's parser recurses once per level, so a deep enough document would end in a
``RecursionError`` (a 500) instead of an answer. Every caller that parses what a client
sent uses ``loads``; the depth is checked before anything is parsed."""

from __future__ import annotations

import json
import re
from typing import Any

# No document this product takes nests anywhere near this deep (a secret's spec: 4 levels).
MAX_DEPTH = 32

# A string (escapes included, or an unterminated one to the end) or one bracket: brackets
# inside strings are not structure.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)


class TooDeepError(json.JSONDecodeError):
    """The document nests deeper than allowed; a ``ValueError`` like any other bad JSON."""


def check_depth(text: str, max_depth: int = MAX_DEPTH) -> None:
    """Raise ``TooDeepError`` at the first bracket that opens level ``max_depth + 1``."""
    if text.count("[") + text.count("{") <= max_depth:
        return
    depth = 0
    for token in _TOKENS.finditer(text):
        first = token.group()[0]
        if first in "[{":
            depth += 1
            if depth > max_depth:
                message = f"Nested deeper than {max_depth} levels"
                raise TooDeepError(message, text, token.start())
        elif first in "]}":
            depth -= 1


def loads(text: str, *, max_depth: int = MAX_DEPTH, **options: Any) -> Any:
    """``json.loads`` for untrusted text: ``ValueError`` (``json.JSONDecodeError``) for bad
    JSON and for JSON nested deeper than ``max_depth``, never a ``RecursionError``."""
    check_depth(text, max_depth)
    return json.loads(text, **options)
