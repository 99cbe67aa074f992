"""Dashboard pages of secrets (the API lives in ``secrets_app.api.urls``)."""

from django.urls import path

from secrets_app import (
    edit_secret_views,
    edit_views,
    history_views,
    lifecycle_views,
    list_views,
    views,
)

app_name = "secrets"

SECRET = "<secret_id:secret_id>/"
VERSION = f"{SECRET}versions/<id:version>/"

urlpatterns = [
    path("", list_views.SecretListView.as_view(), name="list"),
    path("bulk/tag/", list_views.BulkTagView.as_view(), name="bulk-tag"),
    path("bulk/delete/", list_views.BulkDeleteView.as_view(), name="bulk-delete"),
    path("bulk/done/", list_views.BulkDoneView.as_view(), name="bulk-done"),
    path("new/", edit_views.SecretCreateView.as_view(), name="create"),
    path("expiring/", lifecycle_views.ExpiringView.as_view(), name="expiring"),
    path("new/fields/", edit_views.SecretTypeFieldsView.as_view(), name="type-fields"),
    path("new/pair/", edit_views.PairRowView.as_view(), name="pair-row"),
    path(SECRET, views.SecretDetailView.as_view(), name="detail"),
    path(f"{SECRET}values/", views.SecretValueView.as_view(), name="values"),
    path(f"{SECRET}values/<str:field>/", views.SecretValueView.as_view(), name="value"),
    path(f"{SECRET}tags/add/", views.TagView.as_view(), {"action": "add"}, name="tag-add"),
    path(f"{SECRET}tags/remove/", views.TagView.as_view(), {"action": "remove"}, name="tag-remove"),
    path(f"{SECRET}edit/", edit_secret_views.SecretEditView.as_view(), name="edit"),
    path(
        f"{SECRET}edit/reveal/<str:field>/",
        edit_secret_views.EditRevealView.as_view(),
        name="edit-reveal",
    ),
    path(f"{SECRET}delete/", views.SecretDeleteView.as_view(), name="delete"),
    path(f"{SECRET}download/env/", views.SecretEnvDownloadView.as_view(), name="download-env"),
    path(f"{SECRET}written/", views.WrittenView.as_view(), name="written"),
    path(f"{SECRET}versions/", history_views.SecretVersionsView.as_view(), name="versions"),
    path(f"{VERSION}", history_views.VersionView.as_view(), name="version"),
    path(
        f"{VERSION}values/<str:field>/",
        history_views.VersionValueView.as_view(),
        name="version-value",
    ),
    path(f"{VERSION}rollback/", history_views.RollbackView.as_view(), name="rollback"),
    path(f"{VERSION}destroy/", history_views.DestroyVersionView.as_view(), name="destroy-version"),
    path(f"{SECRET}rotation/", lifecycle_views.RotationView.as_view(), name="rotation"),
    path(f"{SECRET}rotate/", lifecycle_views.RotateNowView.as_view(), name="rotate"),
]
