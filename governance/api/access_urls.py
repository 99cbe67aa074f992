from django.urls import path

from governance.api import access

urlpatterns = [
    path(
        "orgs/<id:org_id>/access-requests",
        access.AccessRequestListView.as_view(),
        name="access-requests",
    ),
    path(
        "orgs/<id:org_id>/access-requests/<id:access_request_id>/approve",
        access.AccessApproveView.as_view(),
        name="access-request-approve",
    ),
    path(
        "orgs/<id:org_id>/access-requests/<id:access_request_id>/reject",
        access.AccessRejectView.as_view(),
        name="access-request-reject",
    ),
    path(
        "orgs/<id:org_id>/access-grants",
        access.AccessGrantListView.as_view(),
        name="access-grants",
    ),
    path(
        "orgs/<id:org_id>/access-grants/<id:access_grant_id>",
        access.AccessGrantDetailView.as_view(),
        name="access-grant",
    ),
]
