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
    "orgs",
    "secrets_app",
    "clusters",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "pipeline_secrets.core.middleware.RequestContextMiddleware",
    "csp.middleware.CSPMiddleware",
    "pipeline_secrets.core.middleware.ApiBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
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
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "login"

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

# One mebibyte is the most any API or form request may carry.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
API_MAX_BODY_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE

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
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Vault / OpenBao: values live only there.
VAULT_ADDR = env_str("VAULT_ADDR", "http://127.0.0.1:8200")
VAULT_TOKEN = env_secret("VAULT_TOKEN")
VAULT_TOKEN_FILE = env_str("VAULT_TOKEN_FILE", str(DATA_DIR / "vault" / "app-token"))
VAULT_MOUNT = env_str("VAULT_MOUNT", "secret")
VAULT_TIMEOUT = env_int("VAULT_TIMEOUT", 5)
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

# Prometheus metrics at /metrics: off (404) unless enabled; with METRICS_TOKEN set, only a
# scraper sending it as a bearer token gets them.
METRICS_ENABLED = env_bool("METRICS_ENABLED", False)
METRICS_TOKEN = env_secret("METRICS_TOKEN")

API_TOKEN_PREFIX = "pst_"

# Outbound calls made for a tenant (cluster API servers, provider checks) never reach
# these networks; link-local is where cloud metadata services answer.
OUTBOUND_DENY_NETWORKS = env_networks("OUTBOUND_DENY_NETWORKS", ["169.254.0.0/16", "fe80::/10"])
# Extra endpoints (scheme://host[:port] prefixes) a credential check may call besides the
# provider's own, for private clouds and local stand-ins. Only the operator sets this.
PROVIDER_EXTRA_ENDPOINTS = env_list("PROVIDER_EXTRA_ENDPOINTS", [])

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "orgs.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
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
    "ENUM_NAME_OVERRIDES": {},
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
