"""The least any HTTP service can cost in front of Vault: a bare WSGI app whose only work
is the same KV v2 read, served by the same gunicorn set-up as the product. ``make bench``
reports it beside the product's read so the product's own share of a request is visible.

``application`` reads through hvac (over requests), as a service in front of Vault
usually does: the floor the targets are set against. ``product_transport`` reads through
the product's own Vault transport (``secrets_app.vault_transport``, plain kept-alive
connections), so the product's share can also be seen with the client's cost taken out."""

from __future__ import annotations

import json
import os

import hvac
import requests

from secrets_app import vault_transport

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
    if path:
        sent = vault_transport.send(
            "GET",
            f"{_ADDR}/v1/secret/data/{path}",
            {"X-Vault-Request": "true", "X-Vault-Token": _TOKEN},
            timeout=5.0,
            verify=True,
            cert=None,
        )
        answer = sent.answer() if sent is not None else None
        if answer is None or answer[0] != 200:
            raise RuntimeError("the floor's Vault read failed")
        json.loads(answer[1])
    return _ok(start_response)
