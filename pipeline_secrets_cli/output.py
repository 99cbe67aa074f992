"""Output for people: tables (bold headers on a terminal) and masked values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from pipeline_secrets_cli.context import colour

MASK = "••••••••"


def masked(values: dict[str, Any], reveal: bool) -> dict[str, Any]:
    """The values as given with ``reveal``; otherwise each one hidden."""
    if reveal:
        return dict(values)
    return {k: None if v is None else MASK for k, v in values.items()}


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    head = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))
    lines = [click.style(head, bold=True) if colour() else head]
    for row in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def values_text(values: dict[str, Any]) -> str:
    return "\n".join(f"  {k}: {v}" for k, v in values.items())
