from django.urls import path

from clusters.agent import api

urlpatterns = [
    path("agent/changes", api.AgentChangesView.as_view(), name="agent-changes"),
    path("agent/render", api.AgentRenderView.as_view(), name="agent-render"),
    path("agent/report", api.AgentReportView.as_view(), name="agent-report"),
]
