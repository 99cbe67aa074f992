from django.urls import URLPattern, path

from governance import sharing_views

urlpatterns: list[URLPattern] = [
    path(
        "orgs/<id:org_id>/secrets/<secret_id:secret_id>/share/",
        sharing_views.SharePanelView.as_view(),
        name="secret-share",
    ),
    path(
        "orgs/<id:org_id>/share-links/<str:link_id>/revoke/",
        sharing_views.ShareRevokeView.as_view(),
        name="share-revoke",
    ),
    # The public page a link opens: outside organizations, signed in or not.
    path("s/<str:link_id>", sharing_views.ShareOpenView.as_view(), name="share-open"),
]
