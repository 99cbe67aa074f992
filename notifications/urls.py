"""The organization's Notifications page, its targets and their test sends."""

from django.urls import path

from notifications import target_views, views

app_name = "notifications"

urlpatterns = [
    path("orgs/<id:org_id>/notifications/", views.NotificationsView.as_view(), name="list"),
    path(
        "orgs/<id:org_id>/notifications/add/",
        views.NotificationTargetAddView.as_view(),
        name="add",
    ),
    path(
        "orgs/<id:org_id>/notifications/<id:target_id>/edit/",
        target_views.NotificationTargetEditView.as_view(),
        name="edit",
    ),
    path(
        "orgs/<id:org_id>/notifications/<id:target_id>/test/",
        target_views.NotificationTargetTestView.as_view(),
        name="test",
    ),
    path(
        "orgs/<id:org_id>/notifications/<id:target_id>/remove/",
        views.NotificationTargetRemoveView.as_view(),
        name="remove",
    ),
    path(
        "orgs/<id:org_id>/notifications/deliveries/<id:delivery_id>/",
        target_views.NotificationDeliveryView.as_view(),
        name="delivery",
    ),
]
