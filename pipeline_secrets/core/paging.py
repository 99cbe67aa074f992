"""Keyset paging, newest first: the one way long lists (the audit trail) are cut into pages."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models

Row = TypeVar("Row", bound=models.Model)


def keyset_page(
    rows: models.QuerySet[Row], *, before: int | None, limit: int
) -> tuple[list[Row], int | None]:
    """Up to ``limit`` rows with a primary key below ``before`` (in the queryset's order,
    newest first), and the cursor of the next page (None on the last page)."""
    if before is not None:
        rows = rows.filter(pk__lt=before)
    found = list(rows[: limit + 1])
    page = found[:limit]
    cursor: Any = page[-1].pk if len(found) > limit else None
    return page, cursor
