"""Dashboard pages of a secret's lifecycle: its versions with rollback (and destroy, for
admins), its rotation schedule and "rotate now", and the org's expiring secrets. Thin views
over ``secrets_app.lifecycle``, ``schedule`` and ``selectors``."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from pipeline_secrets.core.errors import ConflictError, NotFoundError
from pipeline_secrets.core.web import is_htmx, redirect_to, render_page, time_context
from secrets_app import lifecycle, schedule, selectors
from secrets_app import values as secret_values
from secrets_app.views import SecretView, rotation_context, written


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(m for ms in exc.message_dict.values() for m in ms)
    return str(getattr(exc, "detail", "")) or "The change was refused."


class SecretVersionsView(SecretView):
    """The versions Vault keeps, newest first; members roll back, admins destroy."""

    policy_actions = {"GET": "secret.versions"}

    def get(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        context = self.secret_context(row, versions=secret_values.versions(row=row))
        context["max_versions"] = settings.VAULT_MAX_VERSIONS
        return render_page(request, "secrets_app/versions.html", context)


class VersionActionView(SecretView):
    """POST: roll back to a version (member), or destroy it (admin)."""

    policy_actions = {"POST": "secret.values.write"}
    http_method_names = ["post"]

    def post(
        self, request: HttpRequest, org_id: int, secret_id: str, version: int, action: str
    ) -> HttpResponse:
        row = self.get_row(secret_id)
        if version not in {v.version for v in secret_values.versions(row=row)}:
            raise NotFoundError(f"The secret has no version {version}.")
        versions_url = self.org_url("secrets:versions", secret_id)
        try:
            if action == "rollback":
                result = lifecycle.secret_rollback(
                    actor=self.membership,
                    organization=self.organization,
                    secret_id=secret_id,
                    version=version,
                    expected_version=_int(request.POST.get("current")),
                )
                messages.success(
                    request,
                    f"Rolled {row.name} back to version {version}: "
                    f"it is now version {result.row.version}.",
                )
            else:
                lifecycle.secret_destroy_version(
                    actor=self.membership,
                    organization=self.organization,
                    secret_id=secret_id,
                    version=version,
                )
                messages.success(request, f"Destroyed version {version} of {row.name}.")
        except (ValidationError, ConflictError, NotFoundError) as exc:
            messages.error(request, _problem(exc))
        return redirect_to(request, versions_url)


class RollbackView(VersionActionView):
    policy_actions = {"POST": "secret.values.write"}


class DestroyVersionView(VersionActionView):
    policy_actions = {"POST": "secret.version.destroy"}


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


class RotationView(SecretView):
    """POST ``every`` (empty: no schedule) to set the rotation schedule; answers the card."""

    policy_actions = {"POST": "secret.rotate"}
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        every = request.POST.get("every", "").strip()
        error = ""
        try:
            lifecycle.secret_set_rotation(
                actor=self.membership,
                organization=self.organization,
                secret_id=secret_id,
                every=every,
            )
        except ValidationError as exc:
            error = _problem(exc)
        row = self.get_row(secret_id)
        context = self.secret_context(row, **rotation_context(row, every if error else None, error))
        return render_page(
            request,
            "secrets_app/detail.html",
            context,
            partial="secrets_app/partials/_rotation.html",
            # htmx swaps only successful answers: the card with its error comes back as one.
            status=400 if error and not is_htmx(request) else 200,
        )


class RotateNowView(SecretView):
    """POST: rotate now; the new values are shown once, as after a create."""

    policy_actions = {"POST": "secret.rotate"}
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        self.get_row(secret_id)
        try:
            result = lifecycle.secret_rotate(
                actor=self.membership, organization=self.organization, secret_id=secret_id
            )
        except (ValidationError, ConflictError) as exc:
            messages.error(request, _problem(exc))
            return redirect_to(request, self.org_url("secrets:detail", secret_id))
        return written(self, result.row, result.generated, "Rotated")


class ExpiringView(SecretView):
    """Secrets with a certificate inside the renewal window (or expired), soonest first."""

    policy_actions = {"GET": "secret.list"}

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        window = schedule.renewal_window()
        rows = list(
            selectors.secret_expiring(
                organization=self.organization, horizon=timezone.now() + window
            )
        )
        context = self.get_context_data(rows=rows, window_days=window.days, **time_context())
        return render_page(request, "secrets_app/expiring.html", context)
