"""Dashboard pages of clusters (the API lives in ``clusters.api.urls``)."""

from django.urls import path

from clusters import (
    agent_views,
    bulk,
    fleet_views,
    rule_views,
    secret_views,
    uninstall_views,
    views,
)

app_name = "clusters"

CLUSTER = "<id:cluster_id>/"

urlpatterns = [
    path("", fleet_views.ClusterListView.as_view(), name="list"),
    path("new/", fleet_views.ClusterCreateView.as_view(), name="create"),
    path("bulk-install/", bulk.BulkInstallView.as_view(), name="bulk-install"),
    path(CLUSTER, views.ClusterDetailView.as_view(), name="detail"),
    path(f"{CLUSTER}check/", views.ClusterCheckView.as_view(), name="check"),
    path(f"{CLUSTER}install/", views.InstallView.as_view(), name="install"),
    path(f"{CLUSTER}install/preview/", views.InstallPreviewView.as_view(), name="install-preview"),
    path(f"{CLUSTER}namespaces/", views.NamespacesView.as_view(), name="namespaces"),
    path(f"{CLUSTER}install-one/", views.InstallOneView.as_view(), name="install-one"),
    path(f"{CLUSTER}uninstall/", uninstall_views.UninstallView.as_view(), name="uninstall"),
    path(
        f"{CLUSTER}namespace-rule/", rule_views.NamespaceRuleView.as_view(), name="namespace-rule"
    ),
    path(f"{CLUSTER}delete/", views.ClusterDeleteView.as_view(), name="delete"),
    path(f"{CLUSTER}scope/", agent_views.ScopeView.as_view(), name="scope"),
    path(
        f"{CLUSTER}agent-token/rotate/",
        agent_views.AgentTokenRotateView.as_view(),
        name="agent-token-rotate",
    ),
    path(
        f"{CLUSTER}agent-token/revoke/",
        agent_views.AgentTokenRevokeView.as_view(),
        name="agent-token-revoke",
    ),
    path(
        "installations/<secret_id:secret_id>/",
        secret_views.SecretInstallationsView.as_view(),
        name="secret-installations",
    ),
    path(
        "installations/<secret_id:secret_id>/install/",
        secret_views.SecretInstallView.as_view(),
        name="secret-install",
    ),
    path(
        "installations/<secret_id:secret_id>/uninstall/",
        secret_views.SecretUninstallView.as_view(),
        name="secret-uninstall",
    ),
]
