from django.urls import path

from governance import breakglass_views as views

urlpatterns = [
    path(
        "orgs/<id:org_id>/secrets/<secret_id:secret_id>/break-glass/",
        views.BreakGlassRevealView.as_view(),
        name="breakglass-reveal",
    ),
    path(
        "orgs/<id:org_id>/break-glass/", views.BreakGlassListView.as_view(), name="breakglass-list"
    ),
    path(
        "orgs/<id:org_id>/break-glass/<id:breakglass_id>/acknowledge/",
        views.BreakGlassAcknowledgeView.as_view(),
        name="breakglass-acknowledge",
    ),
]
