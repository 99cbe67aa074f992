"""The least any HTTP service can cost in front of Vault: a bare WSGI app whose only work
is the same KV v2 read, served by the same gunicorn set-up as the product. ``make bench``
reports it beside the product's read so the product's own share of a request is visible.

``application`` reads through hvac over a plain requests session, as a service in front of
Vault usually does: the floor the targets are set against. ``product_transport`` reads
through the product's own Vault client (``secrets_app.vault``: the same hvac client, pool,
token handling and retry rules as the product), so the product's share can also be seen
with the client's cost taken out."""

from __future__ import annotations

import os

import hvac
import requests

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_secrets.settings")

from secrets_app import vault

_ADDR = os.environ.get("VAULT_ADDR", "")
_TOKEN = os.environ.get("VAULT_TOKEN", "")
_session = requests.Session()
_session.trust_env = False
_client = hvac.Client(url=_ADDR, token=_TOKEN, session=_session)


def _ok(start_response):  # type: ignore[no-untyped-def]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def application(environ: dict, start_response):  # type: ignore[no-untyped-def]
    path = environ.get("QUERY_STRING", "")
    if path:
        _client.secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )
    return _ok(start_response)


def product_transport(environ: dict, start_response):  # type: ignore[no-untyped-def]
    path = environ.get("QUERY_STRING", "")
    if path and vault.read(path) is None:
        raise RuntimeError("the floor's Vault read found nothing")
    return _ok(start_response)
