"""The secrets list and its bulk actions (tag, install, delete many secrets).

The list runs a constant number of queries whatever the org holds: the page of rows (with
their lifecycle rows), its total count and the org's tags. A bulk action is two steps: the
selection is shown with the action's form to confirm it (what it reaches, in numbers), then
every item goes through the same service as its one-secret twin (so each is validated and
audited as it would be alone) and the page the POST redirects to lists what happened to each.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict

from pipeline_secrets.core.errors import AppError
from pipeline_secrets.core.web import redirect_to, render_page, time_context, wants_partial
from secrets_app import history, hooks, selectors, services
from secrets_app.bulk_forms import MAX_BULK, BulkDeleteForm, BulkTagForm
from secrets_app.forms import LIST_PAGE_SIZES, LIST_SORTS, SecretFilters
from secrets_app.models import SecretIndex
from secrets_app.types import REGISTRY
from secrets_app.views import SecretView

# The results of the last bulk action, for the page its POST redirects to.
BULK_RESULT = "secrets.bulk_result"
# Column headings that sort, and the order a first click on each asks for.
SORTABLE = {"name": "name", "type": "type", "updated": "-updated", "expiry": "expiry"}


class SecretListView(SecretView):
    """Filter by type, tags and name or tag text; sort; 25 to 200 a page; select for bulk
    actions. A type, order or page size the list does not know is an error on its control."""

    policy_actions = {"GET": "secret.list"}

    page = "secrets_app/list.html"
    partial = "secrets_app/partials/_results.html"

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        filters = SecretFilters.from_query(request.GET)
        page = None
        if not filters.errors:
            rows = selectors.secret_search(
                organization=self.organization,
                type=filters.type or None,
                tags=filters.tags,
                text=filters.q or None,
                sort=filters.sort,
            )
            page = Paginator(rows, filters.per).get_page(request.GET.get("page"))
        tags = selectors.tag_list(organization=self.organization)
        context = self.get_context_data(
            page_obj=page,
            filters=filters,
            types=list(REGISTRY),
            sorts=LIST_SORTS,
            page_sizes=LIST_PAGE_SIZES,
            headings=self.headings(filters),
            available_tags=[t for t in tags if t not in filters.tags],
            has_tags=bool(tags),
            active_tags=[(t, filters.without_tag(t)) for t in filters.tags],
            tag_prefix=filters.prefix("tag"),
            type_prefix=filters.prefix("type", type=""),
            page_prefix=filters.prefix("page"),
            filter_query=filters.query(),
            select_all=request.GET.get("select") == "page",
            max_bulk=MAX_BULK,
            **time_context(),
            oob=wants_partial(request),
        )
        status = 400 if filters.errors else 200
        return render_page(request, self.page, context, partial=self.partial, status=status)

    @staticmethod
    def headings(filters: SecretFilters) -> list[dict[str, Any]]:
        """Each sortable column: its link (which flips the order when it is the current
        one) and ``aria-sort``."""
        found = []
        for column, first in SORTABLE.items():
            current = filters.sort.lstrip("-") == column
            descending = filters.sort.startswith("-")
            target = (column if descending else f"-{column}") if current else first
            state = "none"
            if current:
                state = "descending" if descending else "ascending"
            found.append(
                {
                    "column": column,
                    "query": filters.query(sort=target),
                    "aria_sort": state,
                }
            )
        return found


@dataclass
class BulkItem:
    """What happened to one secret of a bulk action."""

    name: str
    secret_id: str | None
    status: str  # tagged | untagged | unchanged | installed | updated | deleted | failed
    error: str = ""


def item_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    if isinstance(exc, AppError):
        return exc.detail
    return str(exc)


class BulkView(SecretView):
    """POST the selection (``id`` values, or ``all`` with the list's filters): the
    confirmation page; POST again with ``confirm``: the action, item by item."""

    policy_actions = {"POST": "secret.values.write"}
    http_method_names = ["post"]
    action = ""
    verbs = {"tag": "Tag", "install": "Install", "delete": "Delete"}

    def post(self, request: HttpRequest, org_id: int) -> HttpResponse:
        if self.action not in self.verbs:
            raise Http404
        rows, problem = self.selection(request.POST)
        confirming = "confirm" in request.POST
        filters = self.list_filters(request.POST, confirming)
        form = self.make_form(request.POST if confirming else None, len(rows))
        context = self.get_context_data(
            action=self.action,
            verb=self.verbs[self.action],
            rows=rows,
            form=form,
            problem=problem,
            back=self.org_url("secrets:list") + filters.query(),
            filter_pairs=filters.pairs(),
            installed=self.installed_copies(rows),
        )
        context["effect"] = self.effect(context["installed"])
        if problem or not confirming or not form.is_valid():
            status = 400 if problem or confirming else 200
            return render_page(request, "secrets_app/bulk.html", context, status=status)
        results = getattr(self, f"do_{self.action}")(rows, form)
        if results is None:  # the form got an error for the whole batch
            return render_page(request, "secrets_app/bulk.html", context, status=400)
        return self.done(results, form, context["back"])

    def done(self, results: list[BulkItem], form: Any, back: str) -> HttpResponse:
        """Post/redirect/get: what happened to each secret (names and statuses, never a
        value) is kept in the session for the results page, which a reload only re-reads."""
        self.request.session[BULK_RESULT] = {
            "org": self.organization.pk,
            "action": self.action,
            "back": back,
            "results": [asdict(r) for r in results],
        }
        return redirect_to(self.request, self.org_url("secrets:bulk-done"))

    @staticmethod
    def list_filters(data: QueryDict, confirming: bool) -> SecretFilters:
        """The list's filters, for the way back to it. The list posts them under their own
        names; the confirmation form carries them as ``list-<name>``, so that the list's
        ``tag`` filter and the tag form's ``tag`` field do not mix."""
        if not confirming:
            return SecretFilters.from_query(data)
        carried = QueryDict(mutable=True)
        for key in ("q", "type", "tag", "sort", "per"):
            carried.setlist(key, data.getlist(f"list-{key}"))
        return SecretFilters.from_query(carried)

    def selection(self, data: QueryDict) -> tuple[list[SecretIndex], str]:
        """The selected secrets of the org, by name, and what is wrong with the selection."""
        if data.get("all"):
            filters = SecretFilters.from_query(data)
            if filters.errors:
                return [], " ".join(filters.errors.values())
            found = selectors.secret_search(
                organization=self.organization,
                type=filters.type or None,
                tags=filters.tags,
                text=filters.q or None,
            )
        else:
            ids = list(dict.fromkeys(i for i in data.getlist("id") if i))[: MAX_BULK + 1]
            if not ids:
                return [], "Select at least one secret in the list first."
            found = selectors.secret_list(organization=self.organization, ids=ids)
        rows = list(found.order_by("name")[: MAX_BULK + 1])
        if len(rows) > MAX_BULK:
            return [], (
                f"A bulk action takes up to {MAX_BULK} secrets at once: narrow the filters "
                "or select fewer secrets."
            )
        if not rows:
            return [], "None of the selected secrets exists any more."
        return rows, ""

    def make_form(self, data: QueryDict | None, count: int) -> Any:
        if self.action == "tag":
            return BulkTagForm(data, organization=self.organization)
        return BulkDeleteForm(data, organization=self.organization, expected=count)

    def installed_copies(self, rows: list[SecretIndex]) -> dict[str, list[Any]]:
        """The installed copies of each secret (deleting a secret removes them), by id."""
        copies: dict[str, list[Any]] = {}
        found = hooks.installations_of(
            organization=self.organization, secret_ids=[r.secret_id for r in rows]
        )
        for item in found:
            copies.setdefault(item.secret_id, []).append(item)
        return copies

    def effect(self, installed: dict[str, list[Any]]) -> history.Effect:
        """What the action reaches: the selection's installed copies (a tag change writes a
        version that re-syncs them, a delete removes them) and the notification targets."""
        event = {"delete": "secret.deleted", "install": "installation.created"}.get(
            self.action, "secret.updated"
        )
        copies = [item for items in installed.values() for item in items]
        return history.effect_of_copies(
            organization=self.organization, installed=copies, event=event
        )

    def do_tag(self, rows: list[SecretIndex], form: BulkTagForm) -> list[BulkItem]:
        tag, adding = form.cleaned_data["tag"], form.cleaned_data["mode"] == "add"
        change = services.tag_add if adding else services.tag_remove
        results = []
        for row in rows:
            if (tag in row.tags) == adding:
                results.append(BulkItem(row.name, row.secret_id, "unchanged"))
                continue
            try:
                change(
                    actor=self.membership,
                    organization=self.organization,
                    secret_id=row.secret_id,
                    tag=tag,
                )
            except (AppError, ValidationError, PermissionDenied) as exc:
                results.append(BulkItem(row.name, row.secret_id, "failed", item_error(exc)))
            else:
                status = "tagged" if adding else "untagged"
                results.append(BulkItem(row.name, row.secret_id, status))
        return results

    def do_delete(self, rows: list[SecretIndex], form: BulkDeleteForm) -> list[BulkItem]:
        results = []
        for row in rows:
            try:
                services.secret_delete(
                    actor=self.membership, organization=self.organization, secret_id=row.secret_id
                )
            except (AppError, ValidationError, PermissionDenied) as exc:
                results.append(BulkItem(row.name, row.secret_id, "failed", item_error(exc)))
            else:
                results.append(BulkItem(row.name, None, "deleted"))
        return results


class BulkDoneView(SecretView):
    """GET: the results of the last bulk action (a reload changes nothing); none kept: the
    list."""

    policy_actions = {"GET": "secret.list"}

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        kept = request.session.get(BULK_RESULT) or {}
        if kept.get("org") != self.organization.pk or kept.get("action") not in BulkView.verbs:
            return redirect_to(request, self.org_url("secrets:list"))
        results = [BulkItem(**item) for item in kept["results"]]
        back = str(kept.get("back") or "")
        context = self.get_context_data(
            action=kept["action"],
            verb=BulkView.verbs[kept["action"]],
            results=results,
            failed=sum(1 for r in results if r.status == "failed"),
            back=back if back.startswith("/") else self.org_url("secrets:list"),
        )
        return render_page(request, "secrets_app/bulk_done.html", context)


class BulkTagView(BulkView):
    policy_actions = {"POST": "secret.tag"}
    action = "tag"


class BulkDeleteView(BulkView):
    policy_actions = {"POST": "secret.delete"}
    action = "delete"
