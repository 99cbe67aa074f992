"""Root URLs: the dashboard, the API under /api/v1, its schema and docs, health probes."""

from django.urls import (
    URLPattern,
    URLResolver,
    include,
    path,
    register_converter,
)
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

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
    path("", include("accounts.device_urls")),
    path("", include("audit.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("clusters.api.urls")),
    path("", include("clusters.agent.urls")),
    path("", include("databases.api.urls")),
    path("", include("governance.api.urls")),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="openapi"), name="api-docs"),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("api/v1/", include(api_v1)),
    path("", include("accounts.urls")),
    path("orgs/<id:org_id>/secrets/", include("secrets_app.urls")),
    path("orgs/<id:org_id>/clusters/", include("clusters.urls")),
    path("orgs/<id:org_id>/databases/", include("databases.urls")),
    path("", include("governance.urls")),
    path("", include("orgs.urls")),
    path("", include("audit.urls")),
    path("", include("notifications.urls")),
    path("", include("accounts.settings_urls")),
]

handler400 = "pipeline_secrets.views.bad_request"
handler404 = "pipeline_secrets.views.not_found"
handler500 = "pipeline_secrets.views.internal_error"
