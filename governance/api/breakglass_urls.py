from django.urls import path

from governance.api import breakglass

urlpatterns = [
    path(
        "orgs/<id:org_id>/secrets/<secret_id:secret_id>/reveal",
        breakglass.RevealView.as_view(),
        name="secret-break-glass",
    ),
    path(
        "orgs/<id:org_id>/break-glass",
        breakglass.BreakGlassListView.as_view(),
        name="break-glass-list",
    ),
    path(
        "orgs/<id:org_id>/break-glass/<id:breakglass_id>/acknowledge",
        breakglass.AcknowledgeView.as_view(),
        name="break-glass-acknowledge",
    ),
]
