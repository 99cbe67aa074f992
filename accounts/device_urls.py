"""The device sign-in's API routes (under /api/v1/)."""

from django.urls import path

from accounts import device_api

urlpatterns = [
    path("device/codes", device_api.DeviceCodeView.as_view(), name="device-codes"),
    path("device/token", device_api.DeviceTokenView.as_view(), name="device-token"),
]
