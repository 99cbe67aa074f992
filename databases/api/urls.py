from django.urls import path

from databases.api import views

urlpatterns = [
    path(
        "orgs/<id:org_id>/database-connections",
        views.ConnectionListView.as_view(),
        name="database-connections",
    ),
    path(
        "orgs/<id:org_id>/database-connections/<id:connection_id>",
        views.ConnectionDetailView.as_view(),
        name="database-connection",
    ),
    path(
        "orgs/<id:org_id>/database-connections/<id:connection_id>/rotate-root",
        views.RotateRootView.as_view(),
        name="database-connection-rotate-root",
    ),
    path(
        "orgs/<id:org_id>/database-connections/<id:connection_id>/roles",
        views.RoleListView.as_view(),
        name="database-roles",
    ),
    path(
        "orgs/<id:org_id>/database-roles/<id:role_id>",
        views.RoleDetailView.as_view(),
        name="database-role",
    ),
    path(
        "orgs/<id:org_id>/database-roles/<id:role_id>/credentials",
        views.CredentialsView.as_view(),
        name="database-credentials",
    ),
    path(
        "orgs/<id:org_id>/database-roles/<id:role_id>/leases",
        views.LeaseListView.as_view(),
        name="database-leases",
    ),
    path(
        "orgs/<id:org_id>/database-roles/<id:role_id>/installs",
        views.InstallListView.as_view(),
        name="database-installs",
    ),
    path(
        "orgs/<id:org_id>/database-leases/<str:lease_id>",
        views.LeaseDetailView.as_view(),
        name="database-lease",
    ),
]
