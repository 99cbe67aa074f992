"""Installing many secrets from the secrets list: the list's bulk action whose items go
through ``clusters.services.install``. It lives here, above ``secrets_app``, which does
not import this app."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import QueryDict

from clusters import selectors as cluster_selectors
from clusters import services as cluster_services
from clusters.forms import BulkInstallForm
from clusters.views import add_refusal, install_error
from pipeline_secrets.core.errors import AppError
from secrets_app.list_views import BulkItem, BulkView, item_error
from secrets_app.models import SecretIndex


class BulkInstallView(BulkView):
    policy_actions = {"POST": "cluster.install"}
    action = "install"

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
        by_name = {r.name: r.secret_id for r in rows}
        return [
            BulkItem(r.name, by_name.get(r.name), r.status, install_error(r.error)) for r in done
        ]
