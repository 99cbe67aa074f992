from django.urls import URLPattern, path

from governance.api import sharing

urlpatterns: list[URLPattern] = [
    path(
        "orgs/<id:org_id>/secrets/<secret_id:secret_id>/share",
        sharing.ShareCreateView.as_view(),
        name="secret-share",
    ),
    path("orgs/<id:org_id>/share-links", sharing.ShareLinkListView.as_view(), name="share-links"),
    path(
        "orgs/<id:org_id>/share-links/<str:link_id>",
        sharing.ShareLinkDetailView.as_view(),
        name="share-link",
    ),
]
