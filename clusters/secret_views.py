"""The installations panel of one secret's page: where it is installed, with install and
uninstall (the pages of a cluster live in ``clusters.views``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from clusters import selectors, services
from clusters.forms import (
    BulkInstallForm,
)
from clusters.views import ClusterView, add_refusal, install_error
from orgs.models import Role
from pipeline_secrets.core.errors import NotFoundError, UpstreamError
from pipeline_secrets.core.web import is_htmx, render_page
from secrets_app import selectors as secret_selectors
from secrets_app.models import SecretIndex


class SecretInstallationsView(ClusterView):
    """Where one secret is installed, with install and uninstall: the panel on the secret's
    page, which loads it, and which its forms swap."""

    policy_actions = {"GET": "cluster.view"}

    template = "clusters/partials/_secret_installations.html"

    def get(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        return self.panel(self.get_secret(secret_id))

    def get_secret(self, secret_id: str) -> SecretIndex:
        return secret_selectors.secret_get(organization=self.organization, secret_id=secret_id)

    def panel(
        self,
        row: SecretIndex,
        form: BulkInstallForm | None = None,
        *,
        status: int = 200,
        **extra: Any,
    ) -> HttpResponse:
        found = selectors.installations_of_secrets(
            organization=self.organization, secret_ids=[row.secret_id]
        ).order_by("cluster__name", "namespace", "kube_name")
        if not is_htmx(self.request) and self.request.method == "POST":
            return self.to_secret_page(row, form, **extra)
        if form is None and Role.allows(self.membership.role, Role.MEMBER):
            form = self.install_form()
        context = self.get_context_data(
            secret=row, installations=list(found), install_form=form, **extra
        )
        return render_page(self.request, self.template, context, status=status)

    def to_secret_page(
        self, row: SecretIndex, form: BulkInstallForm | None, **extra: Any
    ) -> HttpResponse:
        """A plain form's answer: the secret's page, with the outcome as a message."""
        if extra.get("notice"):
            messages.success(self.request, extra["notice"])
        problems = [str(extra["error"])] if extra.get("error") else []
        if form is not None and form.errors:
            problems += [str(e) for errors in form.errors.values() for e in errors]
        for problem in problems:
            messages.error(self.request, problem)
        return redirect(self.org_url("secrets:detail", row.secret_id))

    def install_form(self, data: Any = None) -> BulkInstallForm:
        return BulkInstallForm(
            data, prefix="inst", organization=self.organization, role=self.membership.role
        )


class SecretInstallView(SecretInstallationsView):
    """Install this one secret into a cluster's namespace, from the secret's page."""

    policy_actions = {"POST": "cluster.install"}
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_secret(secret_id)
        form = self.install_form(request.POST)
        if not form.is_valid():
            return self.panel(row, form)
        data = form.cleaned_data
        cluster = self.get_cluster(data["cluster"])
        try:
            results = services.install(
                actor=self.membership,
                cluster=cluster,
                namespace=data["namespace"],
                query=services.InstallQuery(ids=[row.secret_id]),
                overwrite=bool(data.get("overwrite")),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
            return self.panel(row, form)
        except PermissionDenied as exc:
            add_refusal(form, exc)
            return self.panel(row, form)
        except (UpstreamError, NotFoundError) as exc:
            return self.panel(row, form, error=exc.detail)
        shown = [replace(r, error=install_error(r.error)) for r in results]
        failed = [r for r in shown if r.status == "failed"]
        if failed:
            return self.panel(row, form, error=failed[0].error)
        notice = f"Installed into {data['namespace']} on {cluster.name}: {shown[0].status}."
        return self.panel(row, notice=notice)


class SecretUninstallView(SecretInstallationsView):
    """Remove one installed copy of this secret (the panel's buttons link to the cluster's
    uninstall confirmation instead; this answers htmx callers the panel)."""

    policy_actions = {"POST": "cluster.uninstall"}
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_secret(secret_id)
        raw = request.POST.get("installation", "")
        item = (
            selectors.installations_of_secrets(
                organization=self.organization, secret_ids=[row.secret_id]
            )
            .filter(pk=int(raw) if raw.isdigit() and len(raw) < 12 else 0)
            .first()
        )
        if item is None:
            return self.panel(row, error="That copy is no longer installed.")
        try:
            services.uninstall(
                cluster=item.cluster,
                namespace=item.namespace,
                name=item.kube_name,
                actor=self.membership,
            )
        except (UpstreamError, NotFoundError) as exc:
            return self.panel(row, error=exc.detail)
        notice = f"Removed {item.kube_name} from {item.namespace} on {item.cluster.name}."
        return self.panel(row, notice=notice)
