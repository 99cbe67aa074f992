"""Reading a kubeconfig a tenant gave: inline credentials only, every node type-checked.

``parse_kubeconfig`` refuses a file path, a plugin or a proxy anywhere in the document
(every user, cluster and context, not just the current one) and returns a copy holding only
the current context's server, TLS settings and inline credentials: the Kubernetes client is
built from that copy alone. Errors name the offending key, never its value.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import urlsplit

import yaml

# kubeconfig given to this server carries its credentials inline and names its server only.
REFUSED_KEYS: dict[str, str] = {
    "tokenFile": "a file path: credentials must be inline (token)",
    "client-certificate": "a file path: credentials must be inline (client-certificate-data)",
    "client-key": "a file path: credentials must be inline (client-key-data)",
    "certificate-authority": "a file path: it must be inline (certificate-authority-data)",
    "exec": "a credential plugin, which this server does not run",
    "auth-provider": "an auth-provider plugin, which this server does not run",
    "proxy-url": "a proxy, which this server does not use: it connects to the server directly",
}
SECTIONS = (("clusters", "cluster"), ("users", "user"), ("contexts", "context"))
# What the client is built from: nothing else of the document reaches it.
CLUSTER_KEYS: dict[str, type] = {
    "server": str,
    "certificate-authority-data": str,
    "insecure-skip-tls-verify": bool,
    "tls-server-name": str,
}
USER_KEYS: dict[str, type] = {
    "token": str,
    "client-certificate-data": str,
    "client-key-data": str,
    "username": str,
    "password": str,
}
BASE64_KEYS = ("certificate-authority-data", "client-certificate-data", "client-key-data")
# A bearer token is sent as a header: visible ASCII only (RFC 6750 b64token and then some).
TOKEN = re.compile(r"[\x21-\x7e]+")


def _entries(config: dict[Any, Any], section: str, inner: str) -> list[tuple[str, dict[str, Any]]]:
    """``(name, body)`` of each entry of a section, every node type-checked."""
    items = config.get(section)
    if items is None:
        return []
    if not isinstance(items, list):
        raise ValueError(f"has a malformed {section}: expected a list")
    entries = []
    for index, item in enumerate(items):
        where = f"{section}[{index}]"
        if not isinstance(item, dict):
            raise ValueError(f"has a malformed {where}: expected a mapping with name and {inner}")
        name, body = item.get("name"), item.get(inner)
        if not isinstance(name, str) or not name:
            raise ValueError(f"has a malformed {where}.name: expected a non-empty string")
        if body is None:
            body = {}
        if not isinstance(body, dict) or not all(isinstance(k, str) for k in body):
            raise ValueError(f"has a malformed {where}.{inner}: expected a mapping")
        for key in REFUSED_KEYS:
            if key in body or key in item:
                path = f"{where}.{inner}.{key}" if key in body else f"{where}.{key}"
                raise ValueError(f"has {path}, {REFUSED_KEYS[key]}")
        entries.append((name, body))
    return entries


def _checked(body: dict[str, Any], allowed: dict[str, type], where: str) -> dict[str, Any]:
    """The allowed keys of ``body``, each of the type it must have."""
    kept: dict[str, Any] = {}
    for key, kind in allowed.items():
        if body.get(key) is None:
            continue
        value = body[key]
        if not isinstance(value, kind):
            expected = "true or false" if kind is bool else "a string"
            raise ValueError(f"has a malformed {where}.{key}: expected {expected}")
        kept[key] = value
        if not isinstance(value, str):
            continue
        if key in BASE64_KEYS:
            try:
                base64.b64decode("".join(value.split()), validate=True)
            except binascii.Error:
                raise ValueError(f"has a malformed {where}.{key}: expected base64") from None
        if key == "token" and not TOKEN.fullmatch(value):
            raise ValueError(f"has a malformed {where}.token: expected one line of visible ASCII")
        if key in ("username", "password"):
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                raise ValueError(f"has a malformed {where}.{key}: expected Latin-1 text") from None
    return kept


def _server(cluster: dict[str, Any]) -> str:
    server = str(cluster.get("server") or "")
    if not server:
        raise ValueError("has no server for the current context's cluster")
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("has a server that is not an http(s) URL with a host")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError("has a server with a malformed port") from None
    return server


def parse_kubeconfig(text: str) -> dict[str, Any]:
    """A copy of the kubeconfig holding only what the client needs: the current context, its
    cluster (server, CA data, TLS options) and its user's inline credentials.

    Every node of the document is type-checked; a path to a file, a plugin or a proxy anywhere
    in it is refused. ValueError names what is wrong, never quoting a value."""
    try:
        config = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        raise ValueError("is not valid YAML") from None
    if not isinstance(config, dict):
        raise ValueError("is not a kubeconfig document")
    found = {section: _entries(config, section, inner) for section, inner in SECTIONS}
    current = config.get("current-context")
    if current is not None and not isinstance(current, str):
        raise ValueError("has a malformed current-context: expected a string")
    contexts: dict[str, dict[str, Any]] = {}
    for name, body in found["contexts"]:
        contexts.setdefault(name, body)
    if not current or current not in contexts:
        raise ValueError("has no current-context naming one of its contexts")
    for index, (_, body) in enumerate(found["contexts"]):
        for key in ("cluster", "user", "namespace"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise ValueError(f"has a malformed contexts[{index}].context.{key}")
    cleaned: dict[str, dict[str, dict[str, Any]]] = {}
    for section, allowed in (("clusters", CLUSTER_KEYS), ("users", USER_KEYS)):
        inner = dict(SECTIONS)[section]
        cleaned[section] = {}
        for index, (name, body) in enumerate(found[section]):
            kept = _checked(body, allowed, f"{section}[{index}].{inner}")
            cleaned[section].setdefault(name, kept)
    context = contexts[current]
    cluster = cleaned["clusters"].get(context.get("cluster") or "")
    if cluster is None:
        raise ValueError("has no cluster for the current context")
    _server(cluster)
    user = cleaned["users"].get(context.get("user") or "") or {}
    has_pair = all(user.get(k) for k in ("client-certificate-data", "client-key-data"))
    has_basic = all(user.get(k) for k in ("username", "password"))
    if not (user.get("token") or has_pair or has_basic):
        raise ValueError("has no credentials for the current context's user")
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "current",
        "contexts": [{"name": "current", "context": {"cluster": "cluster", "user": "user"}}],
        "clusters": [{"name": "cluster", "cluster": cluster}],
        "users": [{"name": "user", "user": user}],
    }


def server_of(config: dict[str, Any]) -> str:
    current = config["current-context"]
    context = next(c["context"] for c in config["contexts"] if c["name"] == current)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    return str(cluster["server"])
