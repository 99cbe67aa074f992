from django.urls import path

from orgs import views

app_name = "dashboard"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("orgs/<int:org_id>/secrets/", views.OrgSecretsView.as_view(), name="org-secrets"),
]
