"""Settings for Pipeline Secrets, read from the environment only.

A fresh checkout runs with no configuration: SQLite and the Vault token under DATA_DIR
(default ``./var``), both prepared by ``make run``. ``DATABASE_URL`` and ``VAULT_ADDR`` +
``VAULT_TOKEN``/``VAULT_TOKEN_FILE`` switch to external PostgreSQL and Vault.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from pipeline_secrets.core.env import (
    env_bool,
    env_int,
    env_list,
    env_networks,
    env_secret,
    env_str,
    persistent_secret,
    private_data_dir,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var"))).resolve()
# Local state (SQLite and its journal files, the secret key) is the owner's alone.
private_data_dir(DATA_DIR)

SECRET_KEY = env_secret("DJANGO_SECRET_KEY") or persistent_secret(DATA_DIR / "secret_key")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "mozilla_django_oidc",
    # Background tasks (outbound deliveries), kept in the database: see TASKS below.
    "django_tasks",
    "django_tasks_db",
    # Tenancy at the bottom; the audit trail, notifications and sign-in build on it.
    "orgs",
    "audit",
    "notifications",
    "accounts",
    "secrets_app",
    "clusters",
    "databases",
    "governance",
    # After migrate: the database cache table (pipeline_secrets/core/apps.py).
    "pipeline_secrets.core",
]

# Requests with an API token (Authorization: Bearer pst_...) pass by the middleware that
# only pages need (core.middleware.PagesOnly: sessions, CSRF, the signed-in user, messages,
# htmx): they carry no session or cookie. allauth's asks for its own entry as it is.
MIDDLEWARE = [
    # /healthz, /readyz and /metrics, whatever Host a kubelet or scraper names.
    "pipeline_secrets.health.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "pipeline_secrets.core.middleware.RequestContextMiddleware",
    "pipeline_secrets.core.middleware.CSPMiddleware",
    "pipeline_secrets.core.middleware.BodyLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # The stock session and CSRF middleware (Django's deploy checks look for them): a token
    # request touches no session, and the API's views are CSRF-exempt for it.
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "pipeline_secrets.core.middleware.AuthenticationMiddleware",
    "pipeline_secrets.core.middleware.MessageMiddleware",
    "pipeline_secrets.core.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "pipeline_secrets.urls"
WSGI_APPLICATION = "pipeline_secrets.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "orgs.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "signed-in"  # the organization of the person (accounts.views)
LOGOUT_REDIRECT_URL = "login"

# Sign-in (local accounts, GitHub, LDAP) and who may act on whom: their own module.
from pipeline_secrets.settings_signin import *  # noqa: E402, F403
from pipeline_secrets.settings_signin import GITHUB_FORM_ACTION  # noqa: E402

# --------------------------------------------------------------------------- shared cache
# One cache for every worker and pod: a table in the database (made by ``migrate``), so the
# login limits above are counted once per deployment and survive restarts. Entries are
# culled only far beyond what a limit window holds, so flooding cannot evict a lockout.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "pipeline_secrets_cache",
        "OPTIONS": {"MAX_ENTRIES": 1_000_000, "CULL_FREQUENCY": 4},
    }
}

# First run: the first-admin page asks for the code ``make run`` prints (kept here too).
SETUP_CODE_FILE = Path(env_str("SETUP_CODE_FILE", str(DATA_DIR / "setup-code")))

# Provider-backed accounts (accounts.providers). An account whose identity comes from GitHub or
# LDAP gets no local password unless the operator allows it. Memberships from GitHub are
# re-checked with GitHub this often (by `manage.py periodic`, and at the use of an API token
# minted under one, at most once per interval per token); memberships from LDAP, which
# cannot be asked again without the user, stop carrying API tokens when no LDAP sign-in has
# confirmed them for PROVIDER_SIGNIN_MAX_AGE_SECONDS. The GitHub token kept for the re-check
# is stored encrypted with a key derived from DJANGO_SECRET_KEY.
PROVIDER_LOCAL_PASSWORDS = env_bool("PROVIDER_LOCAL_PASSWORDS", False)
PROVIDER_RECHECK_SECONDS = env_int("PROVIDER_RECHECK_SECONDS", 3600)
PROVIDER_SIGNIN_MAX_AGE_SECONDS = env_int("PROVIDER_SIGNIN_MAX_AGE_SECONDS", 14 * 24 * 3600)
# Bearer JWTs from the OIDC provider are verified here against its JWKS (kept in memory);
# an unknown key id fetches the JWKS again at most once per this many seconds.
OIDC_JWKS_REFRESH_SECONDS = env_int("OIDC_JWKS_REFRESH_SECONDS", 60)

# Mail (invitations, password resets, address verification, notifications): the console
# unless an SMTP server is given.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Pipeline Secrets <noreply@localhost>")
# Links in mails point here (scheme://host[:port]); without it, at the host of the request.
PUBLIC_URL = env_str("PUBLIC_URL").rstrip("/")
INVITATION_DAYS = 7

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --------------------------------------------------------------------------- body limits
# One mebibyte is the most any API request or form's fields may carry. Every request body is
# checked against its route's limit before anything reads it (BodyLimitMiddleware: the
# Content-Length up front, a chunked body while it is read): over it is a 413, and nothing is
# parsed or written to disk. Pages may add a key file upload (64 KiB) to a form's fields;
# sign-in and account pages take a few short fields. Uploads are kept in memory, never
# spooled to a temporary file.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
API_MAX_BODY_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE
PAGE_MAX_BODY_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE + 128 * 1024
SIGNIN_MAX_BODY_BYTES = 64 * 1024
# Path prefix -> limit (the first that matches); PAGE_MAX_BODY_BYTES elsewhere.
REQUEST_BODY_LIMITS = {
    "/api/": API_MAX_BODY_BYTES,
    "/accounts/": SIGNIN_MAX_BODY_BYTES,
    "/setup/": SIGNIN_MAX_BODY_BYTES,
    "/oidc/": SIGNIN_MAX_BODY_BYTES,
    "/invites/": SIGNIN_MAX_BODY_BYTES,
}
FILE_UPLOAD_MAX_MEMORY_SIZE = PAGE_MAX_BODY_BYTES
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]

SESSION_COOKIE_HTTPONLY = True
# Behind TLS: SECURE_COOKIES=true, or a proxy that sets X-Forwarded-Proto and is trusted
# with SECURE_PROXY_SSL_HEADER=true. Either turns on secure cookies and HSTS.
SECURE_COOKIES = env_bool("SECURE_COOKIES", env_bool("SESSION_COOKIE_SECURE", False))
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_COOKIES = True
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
# Django sends HSTS only on HTTPS responses, so this is inert on plain HTTP.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000) if SECURE_COOKIES else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# No inline script or style and no eval on any page: htmx is configured accordingly in
# templates/base.html, Swagger UI loads its settings from a script file.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        # Signing in with GitHub posts a form here that redirects to GitHub's authorize page.
        "form-action": [SELF, *GITHUB_FORM_ACTION],
        "frame-ancestors": [NONE],
    },
}

# Vault / OpenBao: values live only there.
VAULT_ADDR = env_str("VAULT_ADDR", "http://127.0.0.1:8200")
VAULT_TOKEN = env_secret("VAULT_TOKEN")
VAULT_TOKEN_FILE = env_str("VAULT_TOKEN_FILE", str(DATA_DIR / "vault" / "app-token"))
VAULT_MOUNT = env_str("VAULT_MOUNT", "secret")
VAULT_TIMEOUT = env_int("VAULT_TIMEOUT", 5)
# How many versions of each secret the KV v2 mount keeps (its ``max_versions``): applied to
# the mount by ``make run`` (tools/devstack/openbao.py); an external Vault's operator sets it there.
VAULT_MAX_VERSIONS = env_int("VAULT_MAX_VERSIONS", 10)

# Certificates are renewed (and expiring secrets announced) this many days before they
# expire, or a third of their validity before for shorter-lived ones.
CERT_RENEWAL_DAYS = env_int("CERT_RENEWAL_DAYS", 30)

# Transient failures (a leader election, a node restarting) are retried for this long
# before a call fails with 503 and Retry-After. VAULT_ADDR may list several nodes,
# comma-separated: calls then follow the active one.
VAULT_RETRY_SECONDS = env_int("VAULT_RETRY_SECONDS", 10)
# How the app gets its Vault token: "token" (VAULT_TOKEN or VAULT_TOKEN_FILE), "approle"
# (VAULT_ROLE_ID + VAULT_SECRET_ID or VAULT_SECRET_ID_FILE) or "kubernetes" (the pod's
# ServiceAccount token, VAULT_K8S_ROLE). Login tokens are replaced by a new login before
# they expire and whenever Vault refuses one. VAULT_AUTH_MOUNT: the auth mount's path
# (default "approle" or "kubernetes").
VAULT_AUTH_METHOD = env_str("VAULT_AUTH_METHOD", "token")
VAULT_AUTH_MOUNT = env_str("VAULT_AUTH_MOUNT", "")
VAULT_ROLE_ID = env_str("VAULT_ROLE_ID", "")
VAULT_SECRET_ID = env_secret("VAULT_SECRET_ID")
VAULT_SECRET_ID_FILE = env_str("VAULT_SECRET_ID_FILE", "")
VAULT_K8S_ROLE = env_str("VAULT_K8S_ROLE", "pipeline-secrets")
VAULT_K8S_TOKEN_FILE = env_str(
    "VAULT_K8S_TOKEN_FILE", "/var/run/secrets/kubernetes.io/serviceaccount/token"
)

# Prometheus metrics at /metrics, only for a scraper sending METRICS_TOKEN as a bearer token
# (401 otherwise). Without a token they are off (404), whatever METRICS_ENABLED says;
# METRICS_ENABLED=false turns them off with a token set.
METRICS_TOKEN = env_secret("METRICS_TOKEN")
METRICS_ENABLED = bool(METRICS_TOKEN) and env_bool("METRICS_ENABLED", True)

API_TOKEN_PREFIX = "pst_"

# Outbound calls made for a tenant (cluster API servers, provider checks) never reach
# these networks; link-local is where cloud metadata services answer.
OUTBOUND_DENY_NETWORKS = env_networks("OUTBOUND_DENY_NETWORKS", ["169.254.0.0/16", "fe80::/10"])
# Extra endpoints (scheme://host[:port] prefixes) a credential check may call besides the
# provider's own, for private clouds and local stand-ins. Only the operator sets this.
PROVIDER_EXTRA_ENDPOINTS = env_list("PROVIDER_EXTRA_ENDPOINTS", [])
# Webhook URLs are chosen by tenants: besides OUTBOUND_DENY_NETWORKS, loopback, private and
# other non-public ranges are refused unless the operator allows a network for receivers
# inside them (WEBHOOK_ALLOW_NETWORKS, e.g. an on-prem receiver; it never overrides
# OUTBOUND_DENY_NETWORKS).
WEBHOOK_DENY_NETWORKS = env_networks(
    "WEBHOOK_DENY_NETWORKS",
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/3",
        "::/128",
        "::1/128",
        "fc00::/7",
        "ff00::/8",
    ],
)
WEBHOOK_ALLOW_NETWORKS = env_networks("WEBHOOK_ALLOW_NETWORKS", [])
# Database connections are chosen by tenants too, and OpenBao's database engine connects
# to them: the same non-public networks are refused unless the operator allows a network
# (DATABASE_ALLOW_NETWORKS) or one host:port (DATABASE_ALLOW_ENDPOINTS).
DATABASE_DENY_NETWORKS = env_networks("DATABASE_DENY_NETWORKS", WEBHOOK_DENY_NETWORKS)
DATABASE_ALLOW_NETWORKS = env_networks("DATABASE_ALLOW_NETWORKS", [])
DATABASE_ALLOW_ENDPOINTS = env_list("DATABASE_ALLOW_ENDPOINTS", [])
# The database secrets engine's mount (the operator enables it; see README).
VAULT_DATABASE_MOUNT = env_str("VAULT_DATABASE_MOUNT", "database")
# How long a replaced install credential keeps working, so running pods can reconnect.
DATABASE_REVOKE_GRACE_SECONDS = env_int("DATABASE_REVOKE_GRACE_SECONDS", 300)

# --- Outbound deliveries leave the request: the task queue and its limits ---
# Notifications (webhooks, e-mail) are sent by the worker (`manage.py db_worker`, started by
# `make run` and the chart's worker Deployment), never by a request or `manage.py periodic`.
# A task is a database row written in the transaction of the change that queues it.
TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]},
}
# Seconds one webhook may take, connecting and answering together.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 5)
# Seconds of sending one organization may use in one worker run; its deliveries left over
# then wait for a later run, the other organizations' do not.
DELIVERY_TENANT_BUDGET_SECONDS = env_int("DELIVERY_TENANT_BUDGET_SECONDS", 20)
# Seconds a task may stay running before the periodic command takes its worker for dead
# (killed, its pod evicted) and queues it again; every task is safe to run twice.
TASK_LEASE_SECONDS = env_int("TASK_LEASE_SECONDS", 900)

# --- Agent-mode clusters (docs/agent-protocol.md): the server never contacts them ---
# Seconds an install into an agent cluster waits for its agent to report the copies applied
# before it answers them `pending` (the agent applies them when it next connects).
AGENT_INSTALL_WAIT_SECONDS = env_int("AGENT_INSTALL_WAIT_SECONDS", 10)
# Seconds between an idle agent's heartbeats: an agent not heard from in twice that is
# shown unreachable.
AGENT_HEARTBEAT_SECONDS = env_int("AGENT_HEARTBEAT_SECONDS", 30)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.oidc.DexBearerAuthentication",
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser with a nesting limit (a too-deep body is a 400, not a 500).
    "DEFAULT_PARSER_CLASSES": ["pipeline_secrets.core.api.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": (
        "pipeline_secrets.core.api.negotiation.JsonFirstNegotiation"
    ),
    # No throttling classes: token limits are roles and organizations, not rates.
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "pipeline_secrets.core.api.exceptions.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Pipeline Secrets API",
    "DESCRIPTION": (
        "Typed secrets for Kubernetes teams, kept in Vault/OpenBao, organised by "
        "organization, tagged, and installable into cluster namespaces. Errors are "
        "RFC 9457 problem details (`application/problem+json`)."
    ),
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "NotificationTargetKindEnum": ["email", "webhook"],
        "WorkloadKindEnum": ["Deployment", "StatefulSet", "DaemonSet"],
    },
    "SCHEMA_PATH_PREFIX": r"/api/v1",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # Tracebacks without exception messages: those may quote request or file content.
        "plain": {
            "()": "pipeline_secrets.core.logsafe.ScrubbedFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "pipeline_secrets.core.logsafe.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            # LOG_FORMAT=json: one JSON object per line, each with the request id.
            "formatter": "json" if env_str("LOG_FORMAT", "plain") == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # Provider SDKs log request details at INFO; keep them to warnings.
        "azure": {"level": "ERROR"},
        "botocore": {"level": "WARNING"},
        "boto3": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}

# Agent clusters (docs/agent-protocol.md): the longest an agent's change stream request is
# held open waiting for a change, and how long change events are kept for an agent that
# was away (one away longer does a full reconcile).
AGENT_LONG_POLL_SECONDS = env_int("AGENT_LONG_POLL_SECONDS", 25)
AGENT_CHANGES_KEPT_SECONDS = env_int("AGENT_CHANGES_KEPT_SECONDS", 7 * 24 * 3600)
