"""The dashboard's controls of an agent-mode cluster, on its page (admins): the scope
editor, and rotating (the new token shown once) or revoking the agent's token."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from clusters.agent import registration, tokens
from clusters.agent_forms import ScopeForm
from clusters.fleet_views import token_page
from clusters.views import ClusterDetailView, ClusterView
from pipeline_secrets.core.errors import ConflictError


class ScopeView(ClusterDetailView):
    """POST the namespaces, tags and secret names; the page again with the scope saved
    (the agent is told to reconcile) or with its errors on the fields."""

    policy_actions = {"POST": "cluster.manage"}
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        form = ScopeForm.of(cluster, request.POST)
        if form.is_valid():
            try:
                registration.set_scope(actor=self.membership, cluster=cluster, scope=form.scope())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Saved what {cluster.name} may receive.")
                return redirect(self.org_url("clusters:detail", cluster.pk))
        return self.detail_response(cluster, scope_form=form, status=400)


class AgentTokenRotateView(ClusterView):
    """A new token for the agent, shown once on the answer page; the old one stops working."""

    policy_actions = {"POST": "cluster.manage"}
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        try:
            raw = tokens.rotate_token(actor=self.membership, cluster=cluster)
        except ConflictError as exc:
            messages.error(request, exc.detail)
            return redirect(self.org_url("clusters:detail", cluster.pk))
        return token_page(self, cluster, raw, "New token for")


class AgentTokenRevokeView(ClusterView):
    """The agent's token stops working; back to the cluster's page."""

    policy_actions = {"POST": "cluster.manage"}
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        try:
            tokens.revoke_token(actor=self.membership, cluster=cluster)
        except ConflictError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(
                request, f"Revoked the agent token of {cluster.name}: its agent is refused now."
            )
        return redirect(self.org_url("clusters:detail", cluster.pk))
