"""Dashboard pages for clusters: thin views over ``clusters.services`` and ``selectors``.

Viewers see clusters and what is installed in them; members check them, install and
uninstall; admins register and delete clusters and may replace Secrets the product does not
manage. A cluster that cannot be reached is a friendly alert naming
it, never an error page.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize

from clusters import deletion, fleet, namespaces, selectors, services, single
from clusters.agent_forms import ScopeForm
from clusters.batch import ItemResult, installed_keys
from clusters.forms import (
    OVERWRITE_LABEL,
    InstallForm,
    InstallOneForm,
    NamespaceRuleForm,
)
from clusters.models import Cluster, Installation
from orgs.models import Organization
from orgs.views import OrgView
from pipeline_secrets.core.errors import ConflictError, NotFoundError, UpstreamError
from pipeline_secrets.core.web import form_errors, is_htmx, redirect_to, render_page, time_context
from secrets_app import selectors as secret_selectors
from secrets_app import values as secret_values
from secrets_app.forms import split_tags
from secrets_app.models import SecretIndex
from secrets_app.types import REGISTRY

# The install picker's preview lists at most this many secrets; more asks to narrow down.
PREVIEW_LIMIT = 200
API_OVERWRITE_HINT = "pass overwrite=true to replace it."


def install_error(error: str) -> str:
    """An install error in the dashboard's words: the API's parameter becomes the checkbox
    of the install form."""
    return error.replace(
        API_OVERWRITE_HINT,
        f"an admin can replace it: tick \u201c{OVERWRITE_LABEL}\u201d and install again.",
    )


def add_refusal(form: Any, exc: PermissionDenied) -> None:
    """A policy refusal on the form field it names (``namespace: ...``), else on
    ``overwrite`` when it is about that, else on the form."""
    message = str(exc)
    named, _, rest = message.partition(": ")
    if rest and named in form.fields:
        form.add_error(named, rest[:1].upper() + rest[1:])
    elif "overwrite" in message and "overwrite" in form.fields:
        form.add_error("overwrite", message)
    else:
        form.add_error(None, message)


# The per-secret results of the last install (names, statuses and errors, never a value),
# kept for the cluster page an install redirects to; that page shows them once.
INSTALL_RESULT = "clusters.install_result"


def keep_install_result(
    request: HttpRequest, cluster: Cluster, results: list[ItemResult], retry_ids: list[str]
) -> None:
    """Keep ``results`` for the cluster page, and say in a message how the install went."""
    request.session[INSTALL_RESULT] = {
        "cluster": cluster.pk,
        "results": [asdict(r) for r in results],
        "retry": retry_ids,
    }
    failed = sum(1 for r in results if r.status == "failed")
    where = f" into {results[0].namespace}" if results else ""
    summary = f"Installed {len(results)} secret{pluralize(len(results))}{where} on {cluster.name}"
    if failed:
        messages.error(request, f"{summary}: {failed} failed, see the results below.")
    elif results:
        messages.success(request, f"{summary}.")
    else:
        messages.info(request, f"Nothing matched: nothing was installed on {cluster.name}.")


def kubernetes_type(row: SecretIndex) -> str:
    stype = REGISTRY.get(row.type)
    return (stype.kubernetes_type if stype else None) or "Opaque"


class ClusterView(OrgView):
    section = "clusters"

    def get_cluster(self, cluster_id: int) -> Cluster:
        return selectors.cluster_get(organization=self.organization, cluster_id=cluster_id)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(time_context())
        return context


class ClusterCheckView(ClusterView):
    """Ask the cluster now; answers its status (a list row or the detail page's card). It
    contacts the cluster, so it needs the member role."""

    policy_actions = {"POST": "cluster.check"}
    http_method_names = ["post"]  # inherits a page's GET, which cannot serve this URL

    def post(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = services.cluster_check(cluster=self.get_cluster(cluster_id))
        in_list = request.POST.get("from") == "list"
        if not is_htmx(request):
            state = "reachable" if cluster.reachable else "unreachable"
            messages.info(request, f"Checked {cluster.name}: {state}.")
            if in_list:
                return redirect(self.org_url("clusters:list"))
            return redirect(self.org_url("clusters:detail", cluster.pk))
        partial = "_cluster_row.html" if in_list else "_status.html"
        context = self.get_context_data(cluster=cluster, just_checked=True)
        if in_list:
            context["entry"] = fleet.fleet_entry(cluster=cluster)
        return render_page(request, f"clusters/partials/{partial}", context)


# --------------------------------------------------------------------------- one cluster


class ClusterDetailView(ClusterView):
    """Status, what is installed, the install forms below it, and the result of the install
    that redirected here (shown once, at the top)."""

    policy_actions = {"GET": "cluster.view"}

    page = "clusters/detail.html"

    def get(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        return self.detail_response(self.get_cluster(cluster_id))

    def detail_response(self, cluster: Cluster, *, status: int = 200, **extra: Any) -> HttpResponse:
        kept = self.request.session.get(INSTALL_RESULT) or {}
        if self.request.method == "GET" and kept.get("cluster") == cluster.pk:
            del self.request.session[INSTALL_RESULT]
            extra.setdefault("results", [ItemResult(**item) for item in kept["results"]])
            extra.setdefault("retry_ids", list(kept.get("retry") or []))
        context = self.cluster_context(cluster, **extra)
        context.setdefault("form", InstallForm(organization=self.organization))
        context.setdefault("one_form", InstallOneForm(organization=self.organization))
        rule = namespaces.rule_of(cluster)
        context["namespace_rule"] = rule
        context.setdefault(
            "rule_form", NamespaceRuleForm(initial=NamespaceRuleForm.initial_of(rule))
        )
        if context["is_agent"]:
            context.setdefault("scope_form", ScopeForm.of(cluster))
        return render_page(self.request, self.page, context, status=status)

    def cluster_context(self, cluster: Cluster, **extra: Any) -> dict[str, Any]:
        context = self.get_context_data(cluster=cluster, **extra)
        context["installations"] = installation_rows(self.organization, cluster)
        context["is_agent"] = cluster.mode == Cluster.Mode.AGENT
        if context["is_agent"]:
            context["entry"] = fleet.fleet_entry(cluster=cluster)
        else:
            context["kubeconfig_secret"] = (
                secret_selectors.secret_list(organization=self.organization)
                .filter(secret_id=cluster.kubeconfig_secret_id)
                .first()
            )
        return context


def installation_rows(organization: Organization, cluster: Cluster) -> list[Installation]:
    """The cluster's installations, each with ``current_version`` of its secret (one query)."""
    rows = list(selectors.installation_list(cluster=cluster))
    ids = {row.secret_id for row in rows}
    current = dict(
        secret_selectors.secret_list(organization=organization, ids=ids).values_list(
            "secret_id", "version"
        )
        if ids
        else []
    )
    for row in rows:
        row.current_version = current.get(row.secret_id)  # type: ignore[attr-defined]
    return rows


class InstallView(ClusterDetailView):
    """Install the picked secrets; htmx gets the per-secret result and the new table. When
    nothing matches, nothing is sent to the cluster (no namespace is created)."""

    policy_actions = {"GET": "cluster.install", "POST": "cluster.install"}

    def post(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        form = InstallForm(request.POST, organization=self.organization)
        if not form.is_valid():
            return form_errors(request, self.page, self.cluster_context(cluster, form=form))
        query = form.query()
        if query.empty:
            return self.result_response(cluster, form, results=[])
        try:
            results = services.install(
                actor=self.membership,
                cluster=cluster,
                namespace=form.cleaned_data["namespace"],
                query=query,
                overwrite=form.cleaned_data["overwrite"],
                ttl=form.cleaned_data["ttl"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
            return form_errors(request, self.page, self.cluster_context(cluster, form=form))
        except (UpstreamError, NotFoundError) as exc:
            return self.result_response(cluster, form, upstream_error=exc.detail, status=502)
        by_name = {row.name: row.secret_id for row in form.matches()}
        shown = [replace(r, error=install_error(r.error)) for r in results]
        retry = [by_name[r.name] for r in results if r.status == "failed" and r.name in by_name]
        return self.result_response(cluster, form, results=shown, retry_ids=retry)

    def result_response(
        self, cluster: Cluster, form: InstallForm, *, status: int = 200, **extra: Any
    ) -> HttpResponse:
        if not is_htmx(self.request):
            if "upstream_error" in extra:  # nothing was installed: the form stays filled
                return self.detail_response(cluster, form=form, status=status, **extra)
            results = extra.get("results") or []
            keep_install_result(self.request, cluster, results, extra.get("retry_ids") or [])
            return redirect(self.org_url("clusters:detail", cluster.pk))
        # htmx swaps only 2xx answers; the alert is in the body either way.
        context = self.cluster_context(cluster, form=form, oob=True, **extra)
        return render_page(self.request, "clusters/partials/_install_result.html", context)


class InstallPreviewView(ClusterView):
    """The install picker's preview: the secrets the filters match, each with the keys and
    the Kubernetes type of the v1.Secret it becomes (from the index: no value is read)."""

    policy_actions = {"GET": "cluster.install"}

    def get(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        query = request.GET
        kind = query.get("type", "")
        tags = split_tags(query.get("tags", "").replace("\x00", ""))[:20]
        name = query.get("name", "").replace("\x00", "").strip()[:253]
        error = ""
        if kind and kind not in REGISTRY:
            error, kind = f"There is no type named \u201c{kind[:40]}\u201d.", ""
        rows: list[SecretIndex] = []
        total = 0
        if kind or tags or name:
            found = secret_selectors.secret_list(
                organization=self.organization,
                type=kind or None,
                tags=tags,
                name_contains=name or None,
            ).select_related(None)
            rows = list(found[: PREVIEW_LIMIT + 1])
            total = len(rows)
        ticked = set(query.getlist("ids"))
        # The policy decides which values the caller may copy into the cluster: the
        # others are shown, not offered (the install refuses them too).
        readable = {r.pk for r in rows if secret_values.may_read(self.membership, r)}
        items = [
            {
                "row": row,
                "keys": installed_keys(row),
                "kube_type": kubernetes_type(row),
                "refused": row.pk not in readable,
                "checked": row.pk in readable and (not ticked or row.secret_id in ticked),
            }
            for row in rows[:PREVIEW_LIMIT]
        ]
        context = self.get_context_data(
            cluster=cluster,
            items=items,
            total=total,
            too_many=total > PREVIEW_LIMIT,
            limit=PREVIEW_LIMIT,
            filtered=bool(kind or tags or name),
            error=error,
        )
        return render_page(request, "clusters/partials/_install_preview.html", context)


class NamespacesView(ClusterView):
    """The cluster's namespaces as ``<datalist>`` options; none when it cannot say."""

    policy_actions = {"GET": "cluster.install"}

    def get(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        names = services.namespace_names(cluster=cluster)
        context = self.get_context_data(namespaces=names)
        return render_page(request, "clusters/partials/_namespaces.html", context)


class InstallOneView(ClusterDetailView):
    """Install one secret as a named Secret, with an optional key mapping (a plain form)."""

    policy_actions = {"GET": "cluster.install", "POST": "cluster.install"}

    def post(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        form = InstallOneForm(request.POST, organization=self.organization)
        if not form.is_valid():
            return self.detail_response(cluster, one_form=form, status=400)
        data = form.cleaned_data
        try:
            item, status = single.install_one(
                actor=self.membership,
                cluster=cluster,
                name=form.kube_name(),
                namespace=data["namespace"],
                source=data["secret"],
                spec=data["mapping"],
                merge=data["merge"],
                workload_list=data["restart"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
            return self.detail_response(cluster, one_form=form, status=400)
        except PermissionDenied as exc:
            add_refusal(form, exc)
            return self.detail_response(cluster, one_form=form, status=403)
        except (ConflictError, NotFoundError) as exc:
            form.add_error(None, exc.detail)
            return self.detail_response(cluster, one_form=form, status=400)
        except UpstreamError as exc:
            return self.detail_response(
                cluster, one_form=form, upstream_error=exc.detail, status=502
            )
        result = ItemResult(item.kube_name, item.sourcing, status, item.namespace)
        keep_install_result(request, cluster, [result], [])
        return redirect_to(request, self.org_url("clusters:detail", cluster.pk))


class ClusterDeleteView(ClusterView):
    """GET asks for confirmation; POST removes the installed copies, then the cluster."""

    policy_actions = {"GET": "cluster.manage", "POST": "cluster.manage"}

    def get(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        context = self.get_context_data(
            cluster=cluster, installed=selectors.installation_list(cluster=cluster).count()
        )
        return render_page(request, "clusters/delete.html", context)

    def post(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        deletion.cluster_delete(actor=self.membership, cluster=cluster)
        kept = (
            "" if cluster.mode == Cluster.Mode.AGENT else " Its kubeconfig secret is still there."
        )
        messages.success(request, f"Deleted cluster {cluster.name}.{kept}")
        return redirect_to(request, self.org_url("clusters:list"))
