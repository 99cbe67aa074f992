"""Dashboard pages of a secret's history: the versions with author, time and kind of
change, one version's diff against the one before it (values masked, each revealable: an
audited read), and the two actions on a version, each confirmed on its own page first:
rollback (a preview of what the secret becomes) and destroy (admins; the secret's name
typed when copies of it are installed). Thin views over ``secrets_app.history`` and
``lifecycle``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from pipeline_secrets.core.errors import ConflictError, NotFoundError
from pipeline_secrets.core.web import redirect_to, render_page
from secrets_app import history, lifecycle
from secrets_app import values as secret_values
from secrets_app.models import SecretIndex
from secrets_app.views import SecretView, problem_text


class SecretVersionsView(SecretView):
    """The versions Vault keeps, newest first, with who made each and how."""

    policy_actions = {"GET": "secret.versions"}

    def get(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        context = self.secret_context(row, versions=history.history(row=row))
        context["max_versions"] = settings.VAULT_MAX_VERSIONS
        return render_page(request, "secrets_app/versions.html", context)


class VersionPageView(SecretView):
    """A page about one kept version: its history entry and a diff (``against`` another)."""

    def version_context(
        self, row: SecretIndex, version: int, *, against: int | None = None, **extra: Any
    ) -> dict[str, Any]:
        entries = history.history(row=row)
        entry = next((e for e in entries if e.version == version), None)
        if entry is None:
            raise NotFoundError(f"The secret has no version {version}.")
        if against is None:
            against = history.previous_kept(entries, version)
        diff = history.diff(row=row, version=version, against=against)
        extra.setdefault("old_value", None)
        return self.secret_context(row, entry=entry, diff=diff, **extra)


class VersionView(VersionPageView):
    """GET: what one version changed from the kept version before it; values masked."""

    policy_actions = {"GET": "secret.versions"}

    def get(self, request: HttpRequest, org_id: int, secret_id: str, version: int) -> HttpResponse:
        row = self.get_row(secret_id)
        context = self.version_context(row, version)
        return render_page(request, "secrets_app/version.html", context)


class VersionValueView(VersionPageView):
    """POST: one field of an earlier version, read from Vault now (an audited read naming
    the version and the field), shown in place. It changes nothing, so it answers the value
    rather than a redirect: the value is never kept for a later page."""

    policy_actions = {"POST": "secret.values.read"}
    http_method_names = ["post"]

    def post(
        self, request: HttpRequest, org_id: int, secret_id: str, version: int, field: str
    ) -> HttpResponse:
        row = self.get_row(secret_id)
        document = secret_values.reveal(
            standing=self.membership,
            row=row,
            purpose="history",
            version=version,
            fields=[field],
        )
        stored = secret_values.values_of(document)
        if field not in stored:
            raise NotFoundError(f"Version {version} has no field {field}.")
        # Not ``revealed``/``field``: those name the current version's values in the context.
        old_value = {"name": field, "value": stored[field]}
        context = self.version_context(row, version, old_value=old_value, vfield=field)
        return render_page(
            request,
            "secrets_app/version.html",
            context,
            partial="secrets_app/partials/_version_value.html",
            private=True,
        )


class RollbackView(VersionPageView):
    """GET: a preview of the rollback (what the secret becomes compared with now, and what
    it reaches); POST: roll back, then back to the versions."""

    policy_actions = {"GET": "secret.values.write", "POST": "secret.values.write"}
    page = "secrets_app/rollback.html"

    def get(self, request: HttpRequest, org_id: int, secret_id: str, version: int) -> HttpResponse:
        row = self.get_row(secret_id)
        secret_values.require(self.membership, "secret.values.write", row)
        context = self.version_context(row, version, against=row.version)
        context["effect"] = history.effect_of(
            organization=self.organization, secret_id=secret_id, event="secret.updated"
        )
        return render_page(request, self.page, context)

    def post(self, request: HttpRequest, org_id: int, secret_id: str, version: int) -> HttpResponse:
        row = self.get_row(secret_id)
        history.entry_of(row=row, version=version)
        try:
            result = lifecycle.secret_rollback(
                actor=self.membership,
                organization=self.organization,
                secret_id=secret_id,
                version=version,
                expected_version=_int(request.POST.get("current")),
            )
        except (ValidationError, ConflictError, NotFoundError) as exc:
            messages.error(request, problem_text(exc))
        else:
            messages.success(
                request,
                f"Rolled {row.name} back to version {version}: "
                f"it is now version {result.row.version}.",
            )
        return redirect_to(request, self.org_url("secrets:versions", secret_id))


class DestroyVersionView(VersionPageView):
    """GET: what destroying the version means; POST: destroy it (the secret's name typed
    when copies of the secret are installed), then back to the versions."""

    policy_actions = {"GET": "secret.version.destroy", "POST": "secret.version.destroy"}
    page = "secrets_app/destroy.html"

    def get(self, request: HttpRequest, org_id: int, secret_id: str, version: int) -> HttpResponse:
        return self.confirm(self.get_row(secret_id), version)

    def confirm(self, row: SecretIndex, version: int, error: str = "") -> HttpResponse:
        secret_values.require(self.membership, "secret.version.destroy", row)
        context = self.version_context(row, version, name_error=error)
        context["effect"] = history.effect_of(
            organization=self.organization, secret_id=row.secret_id, event="secret.updated"
        )
        return render_page(self.request, self.page, context, status=400 if error else 200)

    def post(self, request: HttpRequest, org_id: int, secret_id: str, version: int) -> HttpResponse:
        row = self.get_row(secret_id)
        history.entry_of(row=row, version=version)
        installed = history.effect_of(
            organization=self.organization, secret_id=secret_id, event="secret.updated"
        )
        typed = request.POST.get("confirm_name", "").strip()
        if installed.copies and typed != row.name:
            return self.confirm(row, version, f"Type {row.name} exactly to destroy this version.")
        try:
            lifecycle.secret_destroy_version(
                actor=self.membership,
                organization=self.organization,
                secret_id=secret_id,
                version=version,
            )
        except (ValidationError, ConflictError, NotFoundError) as exc:
            messages.error(request, problem_text(exc))
        else:
            messages.success(request, f"Destroyed version {version} of {row.name}.")
        return redirect_to(request, self.org_url("secrets:versions", secret_id))


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None
