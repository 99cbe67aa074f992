"""Page plumbing shared by every app's dashboard views: htmx-aware rendering, redirects,
form errors, application errors shown as the API shows them, and the clock of a page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from pipeline_secrets.core.errors import Accepted, AppError, ConflictError, VaultUnavailableError

# Certificates expiring within this are marked; changes within JUST_NOW read "just now".
EXPIRY_WARNING = timedelta(days=30)
JUST_NOW = timedelta(minutes=1)


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def wants_partial(request: HttpRequest) -> bool:
    """An htmx request that swaps part of a page (a history restore needs the whole page)."""
    details = getattr(request, "htmx", None)
    return bool(details) and not getattr(details, "history_restore_request", False)


def render_page(
    request: HttpRequest,
    page: str,
    context: dict[str, Any],
    *,
    partial: str | None = None,
    status: int = 200,
    private: bool = False,
) -> HttpResponse:
    """``page``, or ``partial`` (the part of ``page`` that htmx swaps) for an htmx request.

    ``private`` pages show something once (a token, generated values): no cache keeps them.
    """
    template = partial if partial and wants_partial(request) else page
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    if private:
        add_never_cache_headers(response)
    return response


def redirect_to(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect that htmx follows as a full page load."""
    if is_htmx(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def vault_unavailable(request: HttpRequest, exc: VaultUnavailableError) -> HttpResponse:
    context = {"detail": exc.detail}
    if is_htmx(request):
        # htmx swaps only 2xx answers: show the alert in the page's alert region.
        response = render(request, "partials/_alert.html", context)
        return reswap(retarget(response, "#alerts"), "innerHTML")
    response = render(request, "errors/vault_unavailable.html", context, status=503)
    response["Retry-After"] = str(exc.retry_after)
    return response


def _back(request: HttpRequest) -> str:
    """The page a form was posted from, when it is ours; else the path posted to."""
    back = request.META.get("HTTP_REFERER", "")
    safe = url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return back if safe else request.path


def app_error(request: HttpRequest, exc: AppError) -> HttpResponse:
    """An application error on a page, mapped as the API maps it: a conflict (409) is a
    message on the page and changes nothing; an upstream or Vault failure (502/503) is an
    alert; htmx requests get the alert in the page's alert region."""
    if isinstance(exc, VaultUnavailableError):
        return vault_unavailable(request, exc)
    if isinstance(exc, Accepted):
        # Held (for an approval, say): the page the request came from says so.
        messages.success(request, exc.detail)
        return redirect_to(request, _back(request))
    if isinstance(exc, ConflictError) and not is_htmx(request):
        messages.error(request, exc.detail)
        return redirect(_back(request))
    context = {"title": exc.title, "detail": exc.detail, "status": exc.status}
    if is_htmx(request):
        response = render(request, "partials/_error_alert.html", context)
        return reswap(retarget(response, "#alerts"), "innerHTML")
    return render(request, "errors/app_error.html", context, status=exc.status)


def form_errors(request: HttpRequest, page: str, context: dict[str, Any]) -> HttpResponse:
    """A form with errors: htmx gets only the error messages (typed input stays in place)."""
    if is_htmx(request):
        response = render_page(request, page, context, partial="partials/_form_errors.html")
        return reswap(response, "none")
    return render_page(request, page, context, status=400)


def time_context() -> dict[str, Any]:
    """What dates are compared with: now, "just now", and the end of the expiry warning."""
    now = timezone.now()
    return {"now": now, "recent": now - JUST_NOW, "expiry_horizon": now + EXPIRY_WARNING}
