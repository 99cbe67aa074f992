"""Installing many secrets from the secrets list: the list's bulk action whose items go
through ``clusters.services.install``. It lives here, above ``secrets_app``, which does
not import this app."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect

from clusters import selectors as cluster_selectors
from clusters import services as cluster_services
from clusters.forms import BulkInstallForm
from clusters.models import Cluster
from clusters.views import add_refusal, install_error, keep_install_result
from pipeline_secrets.core.errors import AppError
from secrets_app.list_views import BulkItem, BulkView, item_error
from secrets_app.models import SecretIndex


class BulkInstallView(BulkView):
    """Install the selected secrets into one namespace of a cluster; the POST redirects to
    the cluster's page, which shows the outcome at the top (a message and each secret's
    result)."""

    policy_actions = {"POST": "cluster.install"}
    action = "install"
    cluster: Cluster | None = None
    shown: list[Any] | None = None

    def make_form(self, data: QueryDict | None, count: int) -> Any:
        return BulkInstallForm(data, organization=self.organization, role=self.membership.role)

    def do_install(self, rows: list[SecretIndex], form: BulkInstallForm) -> list[BulkItem] | None:
        data = form.cleaned_data
        try:
            cluster = cluster_selectors.cluster_get(
                organization=self.organization, cluster_id=data["cluster"]
            )
            done = cluster_services.install(
                actor=self.membership,
                cluster=cluster,
                namespace=data["namespace"],
                query=cluster_services.InstallQuery(ids=[r.secret_id for r in rows]),
                overwrite=bool(data.get("overwrite")),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
            return None
        except PermissionDenied as exc:
            add_refusal(form, exc)
            return None
        except AppError as exc:
            form.add_error(None, item_error(exc))
            return None
        self.cluster = cluster
        self.shown = [replace(r, error=install_error(r.error)) for r in done]
        by_name = {r.name: r.secret_id for r in rows}
        return [BulkItem(r.name, by_name.get(r.name), r.status, r.error) for r in self.shown]

    def done(self, results: list[BulkItem], form: Any, back: str) -> HttpResponse:
        if self.cluster is None:
            return super().done(results, form, back)
        failed = [r.secret_id for r in results if r.status == "failed" and r.secret_id]
        keep_install_result(self.request, self.cluster, self.shown or [], failed)
        return redirect(self.org_url("clusters:detail", self.cluster.pk))
