"""Dashboard pages of organizations, members, invitations and API tokens."""

from django.urls import path

from orgs import invitation_views, views

app_name = "dashboard"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("orgs/new/", views.OrganizationCreateView.as_view(), name="org-create"),
    path("orgs/<id:org_id>/", views.OrganizationRootView.as_view(), name="org"),
    path("orgs/<id:org_id>/members/", views.MembersView.as_view(), name="members"),
    path("orgs/<id:org_id>/members/add/", views.MemberAddView.as_view(), name="member-add"),
    path(
        "orgs/<id:org_id>/members/<id:user_id>/role/",
        views.MemberRoleView.as_view(),
        name="member-role",
    ),
    path(
        "orgs/<id:org_id>/members/<id:user_id>/remove/",
        views.MemberRemoveView.as_view(),
        name="member-remove",
    ),
    path("orgs/<id:org_id>/invites/", invitation_views.InvitationsView.as_view(), name="invites"),
    path(
        "orgs/<id:org_id>/invites/<id:invitation_id>/link/",
        invitation_views.InvitationLinkView.as_view(),
        name="invite-link",
    ),
    path(
        "orgs/<id:org_id>/invites/<id:invitation_id>/resend/",
        invitation_views.InvitationResendView.as_view(),
        name="invite-resend",
    ),
    path(
        "orgs/<id:org_id>/invites/<id:invitation_id>/revoke/",
        invitation_views.InvitationRevokeView.as_view(),
        name="invite-revoke",
    ),
    path("account/tokens/", views.TokensView.as_view(), name="tokens"),
    path(
        "account/tokens/<id:token_id>/revoke/",
        views.TokenRevokeView.as_view(),
        name="token-revoke",
    ),
]
