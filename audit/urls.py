"""Pages of the audit trail."""

from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("orgs/<id:org_id>/activity/", views.ActivityView.as_view(), name="activity"),
    path("account/security/", views.SecurityLogView.as_view(), name="security"),
]
