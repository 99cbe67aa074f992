"""Dashboard pages: the user's organizations and one organization's secrets."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from orgs.models import User
from orgs.scoping import OrgScopedViewMixin
from orgs.selectors import organizations_for_user
from secrets_app.selectors import secret_list


class HomeView(LoginRequiredMixin, TemplateView):
    template_name = "orgs/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        assert isinstance(user, User)
        context["memberships"] = organizations_for_user(user=user)
        return context


class OrgSecretsView(OrgScopedViewMixin, TemplateView):
    template_name = "secrets_app/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["secrets"] = secret_list(organization=self.organization)
        return context
