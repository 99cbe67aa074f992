"""Dashboard pages of database connections and roles (the API is ``databases.api.urls``)."""

from django.urls import path

from databases import views

app_name = "databases"

CONNECTION = "<id:connection_id>/"
ROLE = "roles/<id:role_id>/"

urlpatterns = [
    path("", views.DatabaseListView.as_view(), name="list"),
    path("new/", views.ConnectionCreateView.as_view(), name="connection-create"),
    path(CONNECTION, views.ConnectionDetailView.as_view(), name="connection"),
    path(f"{CONNECTION}roles/", views.RoleCreateView.as_view(), name="role-create"),
    path(f"{CONNECTION}rotate-root/", views.RotateRootView.as_view(), name="rotate-root"),
    path(f"{CONNECTION}delete/", views.ConnectionDeleteView.as_view(), name="connection-delete"),
    path(ROLE, views.RoleDetailView.as_view(), name="role"),
    path(f"{ROLE}credentials/", views.IssueView.as_view(), name="issue"),
    path(f"{ROLE}install/", views.InstallView.as_view(), name="install"),
    path(f"{ROLE}delete/", views.RoleDeleteView.as_view(), name="role-delete"),
    path("leases/<str:lease_id>/revoke/", views.LeaseRevokeView.as_view(), name="revoke"),
]
