from django.urls import path

from notifications.api import views

urlpatterns = [
    path(
        "orgs/<id:org_id>/notification-targets",
        views.NotificationTargetListView.as_view(),
        name="notification-targets",
    ),
    path(
        "orgs/<id:org_id>/notification-targets/<id:target_id>",
        views.NotificationTargetDetailView.as_view(),
        name="notification-target",
    ),
    path(
        "orgs/<id:org_id>/notification-targets/<id:target_id>/test",
        views.NotificationTargetTestView.as_view(),
        name="notification-target-test",
    ),
    path(
        "orgs/<id:org_id>/notification-deliveries",
        views.NotificationDeliveryListView.as_view(),
        name="notification-deliveries",
    ),
]
