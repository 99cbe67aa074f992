"""The governance API: each part's routes (change requests, temporary access, break-glass,
share links)."""

from governance.api import access_urls, breakglass_urls, changes_urls, sharing_urls

urlpatterns = [
    *changes_urls.urlpatterns,
    *access_urls.urlpatterns,
    *breakglass_urls.urlpatterns,
    *sharing_urls.urlpatterns,
]
