"""The organization's Notifications page."""

from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("orgs/<id:org_id>/notifications/", views.NotificationsView.as_view(), name="list"),
    path(
        "orgs/<id:org_id>/notifications/add/",
        views.NotificationTargetAddView.as_view(),
        name="add",
    ),
    path(
        "orgs/<id:org_id>/notifications/<id:target_id>/remove/",
        views.NotificationTargetRemoveView.as_view(),
        name="remove",
    ),
]
