"""Dashboard pages of dynamic database credentials: thin views over the services."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from databases import selectors
from orgs.views import OrgView
from pipeline_secrets.core.web import render_page


class DatabaseView(OrgView):
    section = "databases"


class DatabaseListView(DatabaseView):
    """The org's connections, each with its roles."""

    policy_actions = {"GET": "database.list"}

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        connections = selectors.connection_list(organization=self.organization).prefetch_related(
            "roles"
        )
        context = self.get_context_data(connections=connections)
        return render_page(request, "databases/list.html", context)
