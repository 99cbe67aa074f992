"""Dashboard pages of database connections and roles (the API is ``databases.api.urls``)."""

from django.urls import path

from databases import views

app_name = "databases"

urlpatterns = [
    path("", views.DatabaseListView.as_view(), name="list"),
]
