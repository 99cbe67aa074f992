"""An organization's sign-in settings pages."""

from django.urls import path

from accounts import settings_views

app_name = "accounts"

urlpatterns = [
    path(
        "orgs/<id:org_id>/settings/",
        settings_views.SignInSettingsView.as_view(),
        name="signin-settings",
    ),
    path(
        "orgs/<id:org_id>/settings/github/",
        settings_views.GitHubLinkView.as_view(),
        name="github-link",
    ),
    path(
        "orgs/<id:org_id>/settings/groups/",
        settings_views.GroupMappingView.as_view(),
        name="groups",
    ),
    path(
        "orgs/<id:org_id>/settings/groups/<id:mapping_id>/delete/",
        settings_views.GroupMappingDeleteView.as_view(),
        name="group-delete",
    ),
]
