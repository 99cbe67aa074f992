"""Dashboard pages of the whole fleet: the Clusters page (every cluster with how its copies
stand, ``clusters.fleet``) and registering a cluster, with a kubeconfig or an agent."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django_htmx.http import push_url

from clusters import fleet, services
from clusters.agent import chart, registration
from clusters.forms import ClusterCreateForm
from clusters.models import Cluster
from clusters.views import ClusterView
from pipeline_secrets.core.errors import ConflictError
from pipeline_secrets.core.web import form_errors, is_htmx, redirect_to, render_page
from secrets_app.types import Context


class ClusterListView(ClusterView):
    """The fleet: every cluster with its mode, whether it answers, its installations against
    the current versions of their secrets, its SecretSyncs and drift; a constant number of
    queries."""

    policy_actions = {"GET": "cluster.list"}

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        entries = fleet.fleet(organization=self.organization)
        context = self.get_context_data(entries=entries, heartbeat=settings.AGENT_HEARTBEAT_SECONDS)
        return render_page(request, "clusters/list.html", context)


def registered_notice(cluster: Cluster) -> str:
    if cluster.reachable:
        return f"Registered {cluster.name}: it answers, Kubernetes {cluster.server_version}."
    return f"Registered {cluster.name}, but it does not answer yet: {cluster.last_error}"


def server_url(request: HttpRequest) -> str:
    """Where the agent finds this server: the configured public address, else the one the
    admin's browser used."""
    return settings.PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")


def token_page(view: ClusterView, cluster: Cluster, raw: str, verb: str) -> HttpResponse:
    """The agent's token, shown this once, with the command that installs the agent."""
    context = view.get_context_data(
        cluster=cluster,
        raw_token=raw,
        verb=verb,
        helm_command=chart.install_command(
            cluster=cluster, server_url=server_url(view.request), token=raw
        ),
        patterns=chart.patterns(cluster),
    )
    response = render_page(
        view.request,
        "clusters/agent_token.html",
        context,
        partial="clusters/partials/_agent_token.html",
        private=True,
    )
    detail = view.org_url("clusters:detail", cluster.pk)
    return push_url(response, detail) if is_htmx(view.request) else response


class ClusterCreateView(ClusterView):
    """Register a cluster from a ``kubernetes`` secret or a pasted kubeconfig, or one that
    its agent reaches (its token shown once)."""

    policy_actions = {"GET": "cluster.manage", "POST": "cluster.manage"}
    page = "clusters/create.html"

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        form = ClusterCreateForm(organization=self.organization)
        return render_page(request, self.page, self.get_context_data(form=form))

    def post(self, request: HttpRequest, org_id: int) -> HttpResponse:
        form = ClusterCreateForm(request.POST, organization=self.organization)
        if form.is_valid():
            try:
                return self.register(form)
            except ValidationError as exc:
                form.add_service_errors(exc)
            except ConflictError as exc:
                form.add_error("name", exc.detail)
        return form_errors(request, self.page, self.get_context_data(form=form))

    def register(self, form: ClusterCreateForm) -> HttpResponse:
        if form.is_agent:
            cluster, raw = registration.agent_cluster_create(
                actor=self.membership,
                organization=self.organization,
                name=form.cleaned_data["name"],
                scope=form.scope(),
            )
            return token_page(self, cluster, raw, "Registered")
        cluster = services.cluster_create(
            actor=self.membership,
            organization=self.organization,
            name=form.cleaned_data["name"],
            ctx=Context(verify_remote=form.cleaned_data["verify"]),
            **form.source(),
        )
        messages.success(self.request, registered_notice(cluster))
        return redirect_to(self.request, self.org_url("clusters:detail", cluster.pk))
