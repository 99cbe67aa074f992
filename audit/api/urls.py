from django.urls import path

from audit.api import views

urlpatterns = [
    path("orgs/<id:org_id>/audit", views.AuditListView.as_view(), name="audit"),
    path("me/security-events", views.SecurityEventListView.as_view(), name="security-events"),
]
