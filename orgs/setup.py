"""First run: the sign-in page leads to creating the first admin while no account exists."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views import View

from orgs import services
from orgs.forms import FirstAdminForm
from orgs.models import Membership, User
from pipeline_secrets.core.errors import ConflictError


class LoginView(auth_views.LoginView):
    """Django's sign-in, which sends a fresh installation to the first-run page."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not User.objects.exists():
            return redirect("setup")
        return super().dispatch(request, *args, **kwargs)


class FirstAdminView(View):
    """Create the first account and its organization; closed once any account exists."""

    template_name = "registration/setup.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if User.objects.exists():
            return redirect("login")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": FirstAdminForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = FirstAdminForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = services.first_admin_create(
                    username=data["username"],
                    password=data["password1"],
                    organization_name=data["organization"],
                )
            except ConflictError:
                return redirect("login")
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                org_id = Membership.objects.filter(user=user).values_list(
                    "organization_id", flat=True
                )[0]
                messages.success(request, "Welcome. Create your first secret here.")
                return redirect("secrets:list", org_id=org_id)
        return render(request, self.template_name, {"form": form}, status=400)
