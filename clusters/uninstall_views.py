"""Removing an installed copy: a confirmation page that says what goes (the v1.Secret, the
workloads that read it), then the POST, from a cluster's page or a secret's page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse

from clusters import services
from clusters.models import Cluster, Installation
from clusters.views import ClusterDetailView
from pipeline_secrets.core.errors import NotFoundError, UpstreamError
from pipeline_secrets.core.web import is_htmx, redirect_to, render_page
from secrets_app import selectors as secret_selectors


class UninstallView(ClusterDetailView):
    """GET (``namespace``, ``name``, optional ``secret`` to go back to): what uninstalling
    removes; POST: delete the installed Secret from the cluster, then back to the page the
    confirmation came from (htmx gets the installations panel)."""

    policy_actions = {"GET": "cluster.uninstall", "POST": "cluster.uninstall"}

    def get(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        query = request.GET
        item = self.installation(cluster, query.get("namespace", ""), query.get("name", ""))
        if item is None:
            messages.error(request, "That copy is no longer installed.")
            return redirect_to(request, self.back_url(cluster, query.get("secret", "")))
        context = self.get_context_data(
            cluster=cluster, item=item, back_secret=self.back_secret(query.get("secret", ""))
        )
        return render_page(request, "clusters/uninstall.html", context)

    def post(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        namespace, name = request.POST.get("namespace", ""), request.POST.get("name", "")
        try:
            services.uninstall(
                cluster=cluster, namespace=namespace, name=name, actor=self.membership
            )
        except (UpstreamError, NotFoundError) as exc:
            return self.done(cluster, error=exc.detail)
        return self.done(cluster, notice=f"Removed {name} from {namespace} on {cluster.name}.")

    def installation(self, cluster: Cluster, namespace: str, name: str) -> Installation | None:
        found = self.cluster_context(cluster)["installations"]
        return next((i for i in found if i.namespace == namespace and i.kube_name == name), None)

    def back_secret(self, secret_id: str) -> Any:
        """The secret the confirmation came from (its page is the way back), if it is one."""
        if len(secret_id) != 64:
            return None
        found = secret_selectors.secret_list(organization=self.organization, ids=[secret_id])
        return found.first()

    def back_url(self, cluster: Cluster, secret_id: str) -> str:
        row = self.back_secret(secret_id)
        if row is not None:
            return self.org_url("secrets:detail", row.secret_id)
        return self.org_url("clusters:detail", cluster.pk)

    def done(self, cluster: Cluster, **extra: str) -> HttpResponse:
        if is_htmx(self.request):
            context = self.cluster_context(cluster, **extra)
            return render_page(self.request, "clusters/partials/_installations.html", context)
        if "error" in extra:
            messages.error(self.request, extra["error"])
        else:
            messages.success(self.request, extra["notice"])
        back = self.back_url(cluster, self.request.POST.get("secret", ""))
        return redirect_to(self.request, back)
