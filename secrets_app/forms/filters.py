"""The secret list's filters, order and page size, read from and written back to the query
string."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.http import QueryDict
from django.utils.http import urlencode

from secrets_app.types import REGISTRY

LIST_SORTS = {
    "name": "Name, A to Z",
    "-name": "Name, Z to A",
    "type": "Type",
    "-updated": "Recently updated",
    "updated": "Least recently updated",
    "expiry": "Expiring soonest",
    "-expiry": "Expiring latest",
    "-type": "Type, Z to A",
}
LIST_PAGE_SIZES = (25, 50, 100, 200)
LIST_DEFAULT_SORT = "name"
LIST_DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class SecretFilters:
    """The list's filters, order and page size as read from (and written back to) the query
    string. A type, order or page size the list does not know is kept in ``errors`` (by
    control name) rather than silently ignored."""

    q: str = ""
    type: str = ""
    tags: tuple[str, ...] = ()
    sort: str = LIST_DEFAULT_SORT
    per: int = LIST_DEFAULT_PAGE_SIZE
    errors: dict[str, str] = dataclass_field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_query(cls, query: QueryDict) -> SecretFilters:
        errors: dict[str, str] = {}
        # No stored text holds a NUL, and PostgreSQL refuses one in a query: drop them.
        kind = query.get("type", "").replace("\x00", "").strip()
        if kind and kind not in REGISTRY:
            errors["type"] = (
                f"There is no type named \u201c{kind[:40]}\u201d: choose one from the list."
            )
            kind = ""
        sort = query.get("sort", "") or LIST_DEFAULT_SORT
        if sort not in LIST_SORTS:
            errors["sort"] = "Sort by name, type, updated or expiry: choose one from the list."
            sort = LIST_DEFAULT_SORT
        raw_per = query.get("per", "")
        per = int(raw_per) if raw_per.isdigit() and len(raw_per) < 5 else 0
        if not raw_per:
            per = LIST_DEFAULT_PAGE_SIZE
        elif per not in LIST_PAGE_SIZES:
            sizes = ", ".join(map(str, LIST_PAGE_SIZES))
            errors["per"] = f"Show {sizes} a page: choose one from the list."
            per = LIST_DEFAULT_PAGE_SIZE
        raw_tags = (t.replace("\x00", "").strip()[:128] for t in query.getlist("tag"))
        tags = dict.fromkeys(t for t in raw_tags if t)
        return cls(
            q=query.get("q", "").replace("\x00", "").strip()[:253],
            type=kind,
            tags=tuple(tags)[:20],
            sort=sort,
            per=per,
            errors=errors,
        )

    def pairs(
        self,
        *,
        type: str | None = None,
        tags: tuple[str, ...] | None = None,
        sort: str | None = None,
        keep_order: bool = True,
    ) -> list[tuple[str, str]]:
        result = [("q", self.q)] if self.q else []
        kind = self.type if type is None else type
        if kind:
            result.append(("type", kind))
        result.extend(("tag", t) for t in (self.tags if tags is None else tags))
        order = self.sort if sort is None else sort
        if keep_order and order != LIST_DEFAULT_SORT:
            result.append(("sort", order))
        if keep_order and self.per != LIST_DEFAULT_PAGE_SIZE:
            result.append(("per", str(self.per)))
        return result

    def prefix(self, key: str, **changes: Any) -> str:
        """``?<these filters>&<key>=``, to which a template appends one value."""
        base = urlencode(self.pairs(**changes))
        return f"?{base}&{key}=" if base else f"?{key}="

    def query(self, **changes: Any) -> str:
        """``?<these filters>``, or "" when there are none."""
        base = urlencode(self.pairs(**changes))
        return f"?{base}" if base else ""

    def without_tag(self, tag: str) -> str:
        return "?" + urlencode(self.pairs(tags=tuple(t for t in self.tags if t != tag)))

    @property
    def active(self) -> bool:
        return bool(self.q or self.type or self.tags)
