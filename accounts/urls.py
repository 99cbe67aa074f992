"""Sign-in: allauth's pages with the product's own in front of some of them (first run,
password change and set, reset by the mailed link), the LDAP start, OpenID Connect's
callback, and the invitation link."""

from allauth.account import views as account_views
from django.urls import URLPattern, URLResolver, include, path, re_path

from accounts import device_views, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("setup/", views.FirstAdminView.as_view(), name="setup"),
    path("signed-in/", views.SignedInView.as_view(), name="signed-in"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/logout/", account_views.LogoutView.as_view(), name="logout"),
    # Before allauth's own: no local password for GitHub- or LDAP-only accounts.
    path("accounts/password/set/", views.PasswordSetView.as_view(), name="account_set_password"),
    re_path(
        r"^accounts/password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
        views.PasswordResetFromKeyView.as_view(),
        name="account_reset_password_from_key",
    ),
    # Before allauth's own: signing up from an invitation's link joins at once.
    path("accounts/signup/", views.SignupView.as_view(), name="account_signup"),
    path("accounts/", include("allauth.urls")),
    path("oidc/authenticate/", views.OidcStartView.as_view(), name="oidc_authentication_init"),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("device/", device_views.DeviceConfirmView.as_view(), name="device"),
    path("invites/<str:token>/", views.InvitationView.as_view(), name="invitation"),
]
