"""Root URLs: the dashboard, the API under /api/v1, its schema and docs, health probes."""

from allauth.account import views as account_views
from django.urls import (
    URLPattern,
    URLResolver,
    include,
    path,
    re_path,
    register_converter,
)
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from orgs import setup
from pipeline_secrets import health
from pipeline_secrets.core.converters import IdConverter, SecretIdConverter

# Every integer id in a URL, here and in the URLconfs included below, is an ``<id:...>``, and
# every secret id a ``<secret_id:...>``: only values a row can have match, anything else is a
# 404 (see ``pipeline_secrets.core.converters``).
register_converter(IdConverter, "id")
register_converter(SecretIdConverter, "secret_id")

api_v1: list[URLPattern | URLResolver] = [
    path("", include("secrets_app.api.urls")),
    path("", include("orgs.api.urls")),
    path("", include("audit.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("clusters.api.urls")),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="openapi"), name="api-docs"),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("api/v1/", include(api_v1)),
    path("accounts/login/", setup.LoginView.as_view(), name="login"),
    path("setup/", setup.FirstAdminView.as_view(), name="setup"),
    path("accounts/password/", setup.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/logout/", account_views.LogoutView.as_view(), name="logout"),
    # Before allauth's own: no local password for GitHub- or LDAP-only accounts.
    path("accounts/password/set/", setup.PasswordSetView.as_view(), name="account_set_password"),
    re_path(
        r"^accounts/password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
        setup.PasswordResetFromKeyView.as_view(),
        name="account_reset_password_from_key",
    ),
    path("accounts/", include("allauth.urls")),
    path("oidc/authenticate/", setup.OidcStartView.as_view(), name="oidc_authentication_init"),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("invites/<str:token>/", setup.InvitationView.as_view(), name="invitation"),
    path("orgs/<id:org_id>/secrets/", include("secrets_app.urls")),
    path("orgs/<id:org_id>/clusters/", include("clusters.urls")),
    path("", include("orgs.urls")),
    path("", include("audit.urls")),
    path("", include("notifications.urls")),
]

handler404 = "pipeline_secrets.views.not_found"
handler500 = "pipeline_secrets.views.internal_error"
