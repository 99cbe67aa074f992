from django.urls import path

from clusters.api import fleet, views

urlpatterns = [
    path("orgs/<id:org_id>/clusters", views.ClusterListView.as_view(), name="clusters"),
    path(
        "orgs/<id:org_id>/clusters/<id:cluster_id>",
        views.ClusterDetailView.as_view(),
        name="cluster",
    ),
    path(
        "orgs/<id:org_id>/clusters/<id:cluster_id>/agent-token",
        views.AgentTokenView.as_view(),
        name="cluster-agent-token",
    ),
    path("orgs/<id:org_id>/fleet", fleet.FleetView.as_view(), name="fleet"),
    path(
        "orgs/<id:org_id>/clusters/<id:cluster_id>/namespace-rule",
        views.ClusterNamespaceRuleView.as_view(),
        name="cluster-namespace-rule",
    ),
    path(
        "orgs/<id:org_id>/clusters/<id:cluster_id>/secrets",
        views.ClusterSecretsView.as_view(),
        name="cluster-secrets",
    ),
    path(
        "orgs/<id:org_id>/clusters/<id:cluster_id>/secrets/<str:name>",
        views.ClusterSecretDetailView.as_view(),
        name="cluster-secret",
    ),
]
