"""Dashboard pages for clusters: thin views over ``clusters.services`` and ``selectors``.

Viewers see clusters and what is installed in them; members check them, install and
uninstall; admins register and delete clusters and may replace Secrets the product does not
manage. A cluster that cannot be reached is a friendly alert naming
it, never an error page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from clusters import selectors, services, single
from clusters.batch import ItemResult
from clusters.forms import ClusterCreateForm, InstallForm, InstallOneForm
from clusters.models import Cluster, Installation
from orgs.models import Organization, Role
from orgs.views import OrgView
from pipeline_secrets.core.errors import ConflictError, NotFoundError, UpstreamError
from pipeline_secrets.core.web import form_errors, is_htmx, redirect_to, render_page, time_context
from secrets_app import selectors as secret_selectors
from secrets_app.types import Context


class ClusterView(OrgView):
    section = "clusters"

    def get_cluster(self, cluster_id: int) -> Cluster:
        return selectors.cluster_get(organization=self.organization, cluster_id=cluster_id)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(time_context())
        return context


# --------------------------------------------------------------------------- list, register


class ClusterListView(ClusterView):
    """Every cluster with its last known reachability; a constant number of queries."""

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        clusters = selectors.cluster_list(organization=self.organization)
        context = self.get_context_data(clusters=clusters)
        return render_page(request, "clusters/list.html", context)


class ClusterCreateView(ClusterView):
    """Register a cluster from a ``kubernetes`` secret or a pasted kubeconfig."""

    required_role = Role.ADMIN
    page = "clusters/create.html"

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        form = ClusterCreateForm(organization=self.organization)
        return render_page(request, self.page, self.get_context_data(form=form))

    def post(self, request: HttpRequest, org_id: int) -> HttpResponse:
        form = ClusterCreateForm(request.POST, organization=self.organization)
        if form.is_valid():
            try:
                cluster = services.cluster_create(
                    actor=self.user,
                    organization=self.organization,
                    name=form.cleaned_data["name"],
                    ctx=Context(verify_remote=form.cleaned_data["verify"]),
                    **form.source(),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            except ConflictError as exc:
                form.add_error("name", exc.detail)
            else:
                messages.success(request, registered_notice(cluster))
                return redirect_to(request, self.org_url("clusters:detail", cluster.pk))
        return form_errors(request, self.page, self.get_context_data(form=form))


def registered_notice(cluster: Cluster) -> str:
    if cluster.reachable:
        return f"Registered {cluster.name}: it answers, Kubernetes {cluster.server_version}."
    return f"Registered {cluster.name}, but it does not answer yet: {cluster.last_error}"


class ClusterCheckView(ClusterView):
    """Ask the cluster now; answers its status (a list row or the detail page's card). It
    contacts the cluster, so it needs the member role."""

    required_role = Role.MEMBER
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
        return render_page(request, f"clusters/partials/{partial}", context)


# --------------------------------------------------------------------------- one cluster


class ClusterDetailView(ClusterView):
    """Status, the install form and what is installed."""

    page = "clusters/detail.html"

    def get(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        return self.detail_response(self.get_cluster(cluster_id))

    def detail_response(self, cluster: Cluster, *, status: int = 200, **extra: Any) -> HttpResponse:
        context = self.cluster_context(cluster, **extra)
        context.setdefault("form", InstallForm(organization=self.organization))
        context.setdefault("one_form", InstallOneForm(organization=self.organization))
        return render_page(self.request, self.page, context, status=status)

    def cluster_context(self, cluster: Cluster, **extra: Any) -> dict[str, Any]:
        context = self.get_context_data(cluster=cluster, **extra)
        context["installations"] = installation_rows(self.organization, cluster)
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
    """Install the selected secrets; htmx gets the per-secret result and the new table."""

    required_role = Role.MEMBER

    def post(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        form = InstallForm(request.POST, organization=self.organization)
        if not form.is_valid():
            return form_errors(request, self.page, self.cluster_context(cluster, form=form))
        try:
            results = services.install(
                actor=self.user,
                cluster=cluster,
                namespace=form.cleaned_data["namespace"],
                query=form.query(),
                overwrite=form.cleaned_data["overwrite"],
                ttl=form.cleaned_data["ttl"],
                role=self.membership.role,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
            return form_errors(request, self.page, self.cluster_context(cluster, form=form))
        except (UpstreamError, NotFoundError) as exc:
            return self.result_response(cluster, form, upstream_error=exc.detail, status=502)
        return self.result_response(cluster, form, results=results)

    def result_response(
        self, cluster: Cluster, form: InstallForm, *, status: int = 200, **extra: Any
    ) -> HttpResponse:
        if not is_htmx(self.request):
            return self.detail_response(cluster, form=form, status=status, **extra)
        # htmx swaps only 2xx answers; the alert is in the body either way.
        context = self.cluster_context(cluster, form=form, oob=True, **extra)
        return render_page(self.request, "clusters/partials/_install_result.html", context)


class InstallOneView(ClusterDetailView):
    """Install one secret as a named Secret, with an optional key mapping (a plain form)."""

    required_role = Role.MEMBER

    def post(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        form = InstallOneForm(request.POST, organization=self.organization)
        if not form.is_valid():
            return self.detail_response(cluster, one_form=form, status=400)
        data = form.cleaned_data
        try:
            item, status = single.install_one(
                actor=self.user,
                cluster=cluster,
                name=form.kube_name(),
                namespace=data["namespace"],
                source=data["secret"],
                spec=data["mapping"],
                merge=data["merge"],
                role=self.membership.role,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
            return self.detail_response(cluster, one_form=form, status=400)
        except (ConflictError, NotFoundError, PermissionDenied) as exc:
            form.add_error(None, getattr(exc, "detail", None) or str(exc))
            return self.detail_response(cluster, one_form=form, status=400)
        except UpstreamError as exc:
            return self.detail_response(
                cluster, one_form=form, upstream_error=exc.detail, status=502
            )
        result = ItemResult(item.kube_name, item.sourcing, status, item.namespace)
        return self.detail_response(cluster, one_form=form, results=[result])


class UninstallView(ClusterDetailView):
    """Delete one installed Secret from the cluster (POST, after a confirmation)."""

    required_role = Role.MEMBER

    def post(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        namespace, name = request.POST.get("namespace", ""), request.POST.get("name", "")
        try:
            services.uninstall(
                cluster=cluster, namespace=namespace, name=name, actor=self.user.username
            )
        except (UpstreamError, NotFoundError) as exc:
            return self.done(cluster, error=exc.detail)
        return self.done(cluster, notice=f"Removed {name} from {namespace} on {cluster.name}.")

    def done(self, cluster: Cluster, **extra: str) -> HttpResponse:
        if is_htmx(self.request):
            context = self.cluster_context(cluster, **extra)
            return render_page(self.request, "clusters/partials/_installations.html", context)
        if "error" in extra:
            messages.error(self.request, extra["error"])
        else:
            messages.success(self.request, extra["notice"])
        return redirect(self.org_url("clusters:detail", cluster.pk))


class ClusterDeleteView(ClusterView):
    """GET asks for confirmation; POST removes the installed copies, then the cluster."""

    required_role = Role.ADMIN

    def get(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        context = self.get_context_data(
            cluster=cluster, installed=selectors.installation_list(cluster=cluster).count()
        )
        return render_page(request, "clusters/delete.html", context)

    def post(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        services.cluster_delete(actor=self.user, cluster=cluster)
        messages.success(
            request, f"Deleted cluster {cluster.name}. Its kubeconfig secret is still there."
        )
        return redirect_to(request, self.org_url("clusters:list"))


class SecretInstallationsView(ClusterView):
    """Where one secret is installed: the panel on the secret's page, which loads it."""

    def get(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = secret_selectors.secret_get(organization=self.organization, secret_id=secret_id)
        found = selectors.installations_of_secret(
            organization=self.organization, secret_id=row.secret_id
        )
        context = self.get_context_data(secret=row, installations=list(found))
        return render_page(request, "clusters/partials/_secret_installations.html", context)
