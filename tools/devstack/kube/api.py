"""A small REST client for the local API server (admin calls over client-certificate TLS)
and the RBAC objects that limit a user to the Secrets of one namespace."""

from __future__ import annotations

import json
import re
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.devstack.kube.errors import KubeAPIError

FIELD_MANAGER = "pipeline-secrets-controlplane"
DEFAULT_SECRET_VERBS = ("get", "list", "create", "update", "patch", "delete")
RBAC_API = "rbac.authorization.k8s.io"


def quote_segment(segment: str) -> str:
    """``segment`` escaped for use as one segment of a URL path."""
    return urllib.parse.quote(segment, safe="")


def dns_label(text: str) -> str:
    """``text`` turned into a DNS label (lower case, at most 50 characters)."""
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return label[:50] or "user"


class KubeClient:
    """Calls the API server at ``server`` with the client certificate in cert_file/key_file,
    trusting only the CA in ``ca_pem``. Safe to share between threads."""

    def __init__(self, server: str, ca_pem: str, cert_file: Path, key_file: Path) -> None:
        self.server = server
        self._ca_pem = ca_pem
        self._cert_file = cert_file
        self._key_file = key_file
        self._ssl: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    def ssl_context(self) -> ssl.SSLContext:
        with self._lock:
            if self._ssl is None:
                ctx = ssl.create_default_context(cadata=self._ca_pem)
                ctx.load_cert_chain(self._cert_file, self._key_file)
                self._ssl = ctx
            return self._ssl

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> Any:
        """Sends one request; returns the decoded JSON answer (or its text, None if empty).

        Raises KubeAPIError on an HTTP error status (its .status holds the code).
        """
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        req = urllib.request.Request(  # noqa: S310 - always our https server URL
            self.server + path, data=data, method=method.upper(), headers=headers
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                req, context=self.ssl_context(), timeout=timeout
            ) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            raise KubeAPIError(method.upper(), path, e.code, detail) from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode(errors="replace")

    def apply(self, path: str, obj: dict[str, Any]) -> Any:
        """Server-side apply of obj at path (creates or updates)."""
        query = urllib.parse.urlencode({"fieldManager": FIELD_MANAGER, "force": "true"})
        return self.request(
            "PATCH", f"{path}?{query}", obj, content_type="application/apply-patch+yaml"
        )

    def ensure_namespace(self, namespace: str) -> None:
        self.apply(
            f"/api/v1/namespaces/{quote_segment(namespace)}",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        )

    def readyz(self) -> str | None:
        """None when /readyz says ok, else what the server (or the connection) answered."""
        try:
            self.request("GET", "/readyz", timeout=5)
        except KubeAPIError as e:
            return e.body
        except (OSError, ssl.SSLError) as e:
            return str(e)
        return None

    def grant_secrets(
        self, namespace: str, username: str, verbs: Sequence[str] = DEFAULT_SECRET_VERBS
    ) -> None:
        """Lets ``username`` use ``verbs`` on Secrets in ``namespace`` and nothing else: a Role
        and its RoleBinding, both named secrets-<user> (idempotent, via server-side apply)."""
        role = f"secrets-{dns_label(username)}"
        base = f"/apis/{RBAC_API}/v1/namespaces/{quote_segment(namespace)}"
        metadata = {"name": role, "namespace": namespace}
        self.apply(
            f"{base}/roles/{role}",
            {
                "apiVersion": f"{RBAC_API}/v1",
                "kind": "Role",
                "metadata": metadata,
                "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": list(verbs)}],
            },
        )
        self.apply(
            f"{base}/rolebindings/{role}",
            {
                "apiVersion": f"{RBAC_API}/v1",
                "kind": "RoleBinding",
                "metadata": metadata,
                "roleRef": {"apiGroup": RBAC_API, "kind": "Role", "name": role},
                "subjects": [{"apiGroup": RBAC_API, "kind": "User", "name": username}],
            },
        )
