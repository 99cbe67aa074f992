"""The least any HTTP service can cost in front of Vault: a bare WSGI app whose only work
is the same KV v2 read, served by the same gunicorn set-up as the product. ``make bench``
reports it beside the product's read so the product's own share of a request is visible."""

from __future__ import annotations

import os

import hvac
import requests

_session = requests.Session()
_session.trust_env = False
_client = hvac.Client(
    url=os.environ.get("VAULT_ADDR", ""), token=os.environ.get("VAULT_TOKEN"), session=_session
)


def application(environ: dict, start_response):  # type: ignore[no-untyped-def]
    path = environ.get("QUERY_STRING", "")
    if path:
        _client.secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
