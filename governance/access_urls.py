from django.urls import path

from governance import access_views

urlpatterns = [
    path("orgs/<id:org_id>/access/", access_views.AccessView.as_view(), name="access"),
    path(
        "orgs/<id:org_id>/access/requests/<id:access_request_id>/approve/",
        access_views.AccessApproveView.as_view(),
        name="access-approve",
    ),
    path(
        "orgs/<id:org_id>/access/requests/<id:access_request_id>/reject/",
        access_views.AccessRejectView.as_view(),
        name="access-reject",
    ),
    path(
        "orgs/<id:org_id>/access/grants/<id:access_grant_id>/revoke/",
        access_views.AccessRevokeView.as_view(),
        name="access-revoke",
    ),
]
