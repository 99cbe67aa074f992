"""Dashboard pages of governance, part by part (the API is ``governance.api.urls``)."""

from governance import access_urls, breakglass_urls, changes_urls, sharing_urls

app_name = "governance"

urlpatterns = [
    *changes_urls.urlpatterns,
    *access_urls.urlpatterns,
    *breakglass_urls.urlpatterns,
    *sharing_urls.urlpatterns,
]
