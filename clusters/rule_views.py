"""The dashboard's editor of a cluster's namespace rule (admins), a card on its page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from clusters import namespaces
from clusters.forms import NamespaceRuleForm
from clusters.views import ClusterDetailView


class NamespaceRuleView(ClusterDetailView):
    """POST the allow and deny patterns; the page again with the rule or its errors."""

    policy_actions = {"POST": "cluster.manage"}
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, cluster_id: int) -> HttpResponse:
        cluster = self.get_cluster(cluster_id)
        form = NamespaceRuleForm(request.POST)
        if form.is_valid():
            try:
                namespaces.set_rule(
                    actor=self.membership,
                    cluster=cluster,
                    allow=form.patterns("allow"),
                    deny=form.patterns("deny"),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Saved the namespace rule of {cluster.name}.")
                return redirect(self.org_url("clusters:detail", cluster.pk))
        return self.detail_response(cluster, rule_form=form, status=400)
