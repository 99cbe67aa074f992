"""Dashboard pages of a secret's lifecycle: its rotation schedule, "rotate now" (confirmed on
its own page first) and the org's expiring secrets. Thin views over
``secrets_app.lifecycle``, ``schedule`` and ``selectors``; the versions live in
``secrets_app.history_views``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from pipeline_secrets.core.errors import ConflictError
from pipeline_secrets.core.web import is_htmx, redirect_to, render_page, time_context
from secrets_app import history, lifecycle, schedule, selectors
from secrets_app import values as secret_values
from secrets_app.views import SecretView, problem_text, rotation_context, written


class RotationView(SecretView):
    """POST ``every`` (empty: no schedule) to set the rotation schedule; htmx gets the card,
    a plain form the secret's page (a redirect) with the outcome as a message."""

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
            error = problem_text(exc)
        if not is_htmx(request) and not error:
            messages.success(request, f"Saved the rotation schedule of {row.name}.")
            return redirect_to(request, self.org_url("secrets:detail", secret_id))
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
    """GET: what rotating now does (the fields made anew, the copies it reaches, the
    notifications it sends); POST: rotate, then the new values are shown once by the page
    the answer redirects to."""

    policy_actions = {"GET": "secret.rotate", "POST": "secret.rotate"}

    def get(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        secret_values.require(self.membership, "secret.rotate", row)
        effect = history.effect_of(
            organization=self.organization, secret_id=secret_id, event="secret.rotated"
        )
        context = self.secret_context(row, effect=effect, next_version=row.version + 1)
        return render_page(request, "secrets_app/rotate.html", context)

    def post(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        self.get_row(secret_id)
        try:
            result = lifecycle.secret_rotate(
                actor=self.membership, organization=self.organization, secret_id=secret_id
            )
        except (ValidationError, ConflictError) as exc:
            messages.error(request, problem_text(exc))
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
