from django.urls import path

from secrets_app.api import views

urlpatterns = [
    path("secret-types", views.SecretTypeListView.as_view(), name="secret-types"),
    path("secret-types/<str:type>", views.SecretTypeDetailView.as_view(), name="secret-type"),
    path("orgs/<id:org_id>/secrets", views.SecretListView.as_view(), name="secrets"),
    path(
        "orgs/<id:org_id>/secrets/<secret_id:secret_id>",
        views.SecretDetailView.as_view(),
        name="secret",
    ),
    path(
        "orgs/<id:org_id>/secrets/<secret_id:secret_id>/versions",
        views.SecretVersionsView.as_view(),
        name="secret-versions",
    ),
    path(
        "orgs/<id:org_id>/secrets/<secret_id:secret_id>/versions/<id:version>",
        views.SecretVersionView.as_view(),
        name="secret-version",
    ),
    path(
        "orgs/<id:org_id>/secrets/<secret_id:secret_id>/rollback",
        views.SecretRollbackView.as_view(),
        name="secret-rollback",
    ),
    path(
        "orgs/<id:org_id>/secrets/<secret_id:secret_id>/rotate",
        views.SecretRotateView.as_view(),
        name="secret-rotate",
    ),
    path(
        "orgs/<id:org_id>/secrets/<secret_id:secret_id>/validate",
        views.SecretValidateView.as_view(),
        name="secret-validate",
    ),
    path(
        "orgs/<id:org_id>/secrets/<secret_id:secret_id>/tags",
        views.SecretTagListView.as_view(),
        name="secret-tags",
    ),
    path(
        "orgs/<id:org_id>/secrets/<secret_id:secret_id>/tags/<path:tag>",
        views.SecretTagView.as_view(),
        name="secret-tag",
    ),
]
