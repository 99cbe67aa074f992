"""Sign-in settings (local accounts, GitHub, LDAP through Dex) and the consent rules, read
from the environment; ``pipeline_secrets.settings`` takes them all."""

from __future__ import annotations

from pipeline_secrets.core.env import env_bool, env_choice, env_int, env_list, env_secret, env_str

# --------------------------------------------------------------------------- sign-in
# Local accounts, GitHub and LDAP (through Dex, an OpenID Connect provider) all end in a
# Django session. See accounts/signin.py for the rules shared by the three.
AUTHENTICATION_BACKENDS = [
    "allauth.account.auth_backends.AuthenticationBackend",
    "accounts.oidc.DexBackend",
]
ACCOUNT_ADAPTER = "accounts.signin.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.signin.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# Optional: accounts made before email addresses existed here still sign in by username;
# an address is verified by the link mailed to it (or by the invitation that reached it).
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Pipeline Secrets] "
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_REDIRECT_URL = "login"
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = None
# Local sign-up without an invitation only when the operator opens it.
ACCOUNT_SIGNUP_OPEN = env_bool("ACCOUNT_SIGNUP_OPEN", False)
# Failed logins: per address and per account (whichever of its names or addresses was typed,
# in any case: accounts.signin.AccountAdapter); past the limit the form refuses for the rest of
# the window and says so. Counted in the shared cache below, so the limit holds across
# workers, pods and restarts.
LOGIN_FAILURES_ALLOWED = env_int("LOGIN_FAILURES_ALLOWED", 5)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 300)
ACCOUNT_RATE_LIMITS = {
    "login_failed": f"20/m/ip,{LOGIN_FAILURES_ALLOWED}/{LOGIN_LOCKOUT_SECONDS}s/key",
}
# The per-address part counts the client's address: behind proxies that append it to
# X-Forwarded-For (an Ingress controller), say how many, or every client shares theirs.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
# A GitHub or OIDC identity never joins an existing account by email: linking is done by the
# account's owner while signed in.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_AUTO_SIGNUP = True
# A GitHub account without a public address still signs up; one whose address another
# account holds is asked for a different one.
SOCIALACCOUNT_EMAIL_REQUIRED = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"

# --------------------------------------------------------------------------- consent
# Who may act on whom, as the operator decides (orgs/consent.py holds the rules).
# Creating organizations: "staff" (operator accounts, such as the first admin made by the
# first-run page) or "anyone" signed in.
ORG_CREATION = env_choice("ORG_CREATION", ("staff", "anyone"), "staff")
# New accounts through GitHub or LDAP: "closed" follows local sign-up (an account is made only
# for a person with a pending invitation to a verified address of theirs); "open" makes one
# for anyone the provider lets through. Follows ACCOUNT_SIGNUP_OPEN unless set.
SOCIAL_SIGNUP = env_choice(
    "SOCIAL_SIGNUP", ("closed", "open"), "open" if ACCOUNT_SIGNUP_OPEN else "closed"
)
# What an org admin may link: GitHub organization logins ("*": any) and directory-group
# patterns (fnmatch, case-sensitive). Empty: nothing may be linked or mapped.
GITHUB_TRUSTED_ORGS = env_list("GITHUB_TRUSTED_ORGS", [])
LDAP_TRUSTED_GROUPS = env_list("LDAP_TRUSTED_GROUPS", [])
# GitHub's verified addresses are read at sign-in (scope user:email): an invitation to one
# of them may open sign-up.
SOCIALACCOUNT_QUERY_EMAIL = True

# GitHub (or GitHub Enterprise at GITHUB_URL), on when GITHUB_CLIENT_ID is set.
GITHUB_CLIENT_ID = env_str("GITHUB_CLIENT_ID")
GITHUB_CLIENT_SECRET = env_secret("GITHUB_CLIENT_SECRET") or ""
GITHUB_URL = env_str("GITHUB_URL").rstrip("/")
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {
    "github": {
        "SCOPE": ["read:user", "user:email", "read:org"],
        "VERIFIED_EMAIL": False,
        "APPS": (
            [{"client_id": GITHUB_CLIENT_ID, "secret": GITHUB_CLIENT_SECRET, "key": ""}]
            if GITHUB_CLIENT_ID
            else []
        ),
        **({"GITHUB_URL": GITHUB_URL} if GITHUB_URL else {}),
    }
}

GITHUB_FORM_ACTION = [GITHUB_URL or "https://github.com"] if GITHUB_CLIENT_ID else []

# LDAP/Active Directory through Dex, on when OIDC_ISSUER is set. The endpoints come from the
# issuer's discovery document, read at start-up (accounts.oidc.configure).
OIDC_ISSUER = env_str("OIDC_ISSUER").rstrip("/")
OIDC_RP_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_secret("OIDC_CLIENT_SECRET") or ""
OIDC_CONNECTOR_ID = env_str("OIDC_CONNECTOR_ID", "ldap")
OIDC_LABEL = env_str("OIDC_LABEL", "LDAP")
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = "openid email profile groups"
OIDC_USE_PKCE = True
OIDC_CREATE_USER = True
OIDC_AUTH_REQUEST_EXTRA_PARAMS = {"connector_id": OIDC_CONNECTOR_ID} if OIDC_CONNECTOR_ID else {}
OIDC_OP_AUTHORIZATION_ENDPOINT = ""
OIDC_OP_TOKEN_ENDPOINT = ""
OIDC_OP_USER_ENDPOINT = ""
OIDC_OP_JWKS_ENDPOINT = ""
OIDC_VERIFY_SSL = True
OIDC_TIMEOUT = 10
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/"
