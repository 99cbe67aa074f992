from django.urls import path

from orgs.api import views

urlpatterns = [
    path("orgs", views.OrganizationListView.as_view(), name="orgs"),
    path("orgs/<id:org_id>", views.OrganizationDetailView.as_view(), name="org"),
    path("orgs/<id:org_id>/members", views.MemberListView.as_view(), name="members"),
    path(
        "orgs/<id:org_id>/members/<id:user_id>",
        views.MemberDetailView.as_view(),
        name="member",
    ),
    path("orgs/<id:org_id>/invites", views.InvitationListView.as_view(), name="invites"),
    path(
        "orgs/<id:org_id>/invites/<id:invitation_id>",
        views.InvitationDetailView.as_view(),
        name="invite",
    ),
    path(
        "orgs/<id:org_id>/invites/<id:invitation_id>/resend",
        views.InvitationResendView.as_view(),
        name="invite-resend",
    ),
    path("tokens", views.TokenListView.as_view(), name="tokens"),
    path("tokens/<id:token_id>", views.TokenDetailView.as_view(), name="token"),
]
