"""hvac's transport to Vault: its JSON adapter over a urllib3 pool, without requests.

Every API read of values is one Vault call, so the client's own cost per call is paid on
every request. hvac sends through a requests ``Session``, whose request preparation, hooks,
cookie jar and redirect machinery cost more per call than the round trip to a local Vault
(``tools/profile_api.py``). This adapter keeps hvac's API, headers, error classes and JSON
handling, and sends through one keep-alive ``urllib3.PoolManager`` (the library requests
itself sends through). What callers see is unchanged:

* a 200 with JSON is the decoded document; any other answer is a ``Response`` with the
  members hvac and our callers read (``status_code``, ``ok``, ``headers``, ``text``,
  ``json()``), and an error status raises hvac's exception for it, as before;
* transport failures raise requests' exception classes (``ConnectTimeout``,
  ``ReadTimeout``, ``ConnectionError``), which the retry rules in ``secrets_app.vault``
  sort; messages name the failure's type only;
* redirects (a standby sending a call to the active node) are followed, keeping method,
  body and the Vault token, as requests did;
* TLS verification and client certificates follow hvac's ``verify``/``cert`` (so
  ``VAULT_CACERT``, ``VAULT_CAPATH``, ``VAULT_CLIENT_CERT`` work), with certifi's bundle
  by default, as requests used; proxies are never used (Vault is addressed directly).
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import ssl
import threading
from typing import Any
from urllib.parse import urlencode, urlsplit

import certifi
import hvac.adapters
import requests
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    ResponseError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

# Follow redirects (at most a few hops); never repeat a call on failure here: the caller's
# retry rules decide what may be repeated (a write is checked before it is tried again).
_RETRIES = urllib3.Retry(
    total=None,
    connect=0,
    read=False,
    status=0,
    other=0,
    redirect=5,
    raise_on_redirect=True,
    raise_on_status=False,
)


class Response:
    """An answer hvac hands back as is: anything but a 200 with JSON."""

    __slots__ = ("content", "headers", "status_code", "url")

    def __init__(self, status_code: int, headers: Any, content: bytes, url: str) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.url = url

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


# Keep-alive connections kept per Vault node: a worker's request threads (gunicorn
# --threads, 8 in the chart) plus the readers of one listing or install batch may all be in
# a call at once. With fewer, a busy moment would close connections that the next calls then
# open again (a TCP and, with TLS, a handshake each).
POOL_SIZE = 32

_pools: dict[tuple[Any, Any], urllib3.PoolManager] = {}
_pools_lock = threading.Lock()


def pool(verify: Any, cert: Any) -> urllib3.PoolManager:
    """The pool manager for one TLS set-up, shared by every client that uses it."""
    key = (verify, tuple(cert) if isinstance(cert, list | tuple) else cert)
    found = _pools.get(key)
    if found is not None:
        return found
    with _pools_lock:
        found = _pools.get(key)
        if found is None:
            tls: dict[str, Any] = {"cert_reqs": "CERT_REQUIRED", "ca_certs": certifi.where()}
            if verify is False:
                tls = {"cert_reqs": "CERT_NONE"}
            elif isinstance(verify, str):
                tls = {"cert_reqs": "CERT_REQUIRED"}
                tls["ca_cert_dir" if os.path.isdir(verify) else "ca_certs"] = verify
            if isinstance(cert, list | tuple):
                tls["cert_file"], tls["key_file"] = cert[0], cert[1]
            elif isinstance(cert, str):
                tls["cert_file"] = cert
            # block=False: past maxsize a call opens a connection it does not keep.
            found = urllib3.PoolManager(num_pools=8, maxsize=POOL_SIZE, block=False, **tls)
            _pools[key] = found
    return found


def _transport_error(exc: HTTPError) -> requests.RequestException:
    """The requests exception a failure would have raised, naming its type only."""
    cause = exc.reason if isinstance(exc, MaxRetryError) and exc.reason is not None else exc
    name = type(cause).__name__
    if isinstance(cause, ConnectTimeoutError):
        return requests.ConnectTimeout(name)
    if isinstance(cause, Urllib3TimeoutError):
        return requests.ReadTimeout(name)
    if isinstance(cause, SSLError):
        return requests.exceptions.SSLError(name)
    if isinstance(cause, ResponseError):
        return requests.TooManyRedirects(name)
    return requests.ConnectionError(name)


class PooledJSONAdapter(hvac.adapters.JSONAdapter):
    """hvac's JSON adapter, sending through a shared urllib3 pool (see the module text)."""

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        raise_exception: bool = True,
        **kwargs: Any,
    ) -> Any:
        while "//" in url:
            url = url.replace("//", "/")  # as hvac does: Vault reads "//" as "/"
        url = self.urljoin(self.base_uri, url)
        headers = dict(headers or {})
        if self.request_header:
            headers["X-Vault-Request"] = "true"
        if self.token:
            headers["X-Vault-Token"] = self.token
        if self.namespace:
            headers["X-Vault-Namespace"] = self.namespace
        wrap_ttl = kwargs.pop("wrap_ttl", None)
        if wrap_ttl:
            headers["X-Vault-Wrap-TTL"] = str(wrap_ttl)
        params = kwargs.pop("params", None)
        if params:
            url = f"{url}?{urlencode(params, doseq=True)}"
        body = None
        payload = kwargs.pop("json", None)
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        elif kwargs.get("data") is not None:
            data = kwargs.pop("data")
            body = data.encode() if isinstance(data, str) else data
        timeout = kwargs.pop("timeout", self._kwargs.get("timeout"))
        manager = pool(self._kwargs.get("verify"), self._kwargs.get("cert"))
        try:
            answer = manager.urlopen(
                method.upper(),
                url,
                body=body,
                headers=headers,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                retries=_RETRIES if self.allow_redirects else _RETRIES.new(redirect=False),
                redirect=self.allow_redirects,
            )
        except HTTPError as exc:
            raise _transport_error(exc) from None
        status = answer.status
        content = answer.data
        if status == 200 and content:
            try:
                return json.loads(content)
            except ValueError:
                pass
        response = Response(status, answer.headers, content, url)
        if status >= 400 and raise_exception and not self.ignore_exceptions:
            self._raise_for_error(method, url, response)  # type: ignore[arg-type]
        return response


# --------------------------------------------------------------------------- send now, read later
#
# The two calls every API request makes, a read of values and the write of a new version,
# go out over plain ``http.client`` connections: a third less of the client's own time per
# call than hvac over urllib3, and the send is split from the read of the answer. So a read
# is sent first and its audit row written while Vault works on the answer. These
# connections are kept apart from the pool above; any answer the caller does not take as
# is (not a 200, a dropped connection) is left to the hvac path, whose rules (redirects,
# retries, a write's check whether it landed) then apply.

_idle: dict[tuple[Any, ...], list[http.client.HTTPConnection]] = {}
_idle_lock = threading.Lock()


@functools.cache
def _tls_context(verify: Any, cert: Any) -> ssl.SSLContext:
    if verify is False:
        context = ssl._create_unverified_context()  # noqa: S323 - the operator chose no checks
    elif isinstance(verify, str) and os.path.isdir(verify):
        context = ssl.create_default_context(capath=verify)
    else:
        context = ssl.create_default_context(
            cafile=verify if isinstance(verify, str) else certifi.where()
        )
    if isinstance(cert, list | tuple):
        context.load_cert_chain(cert[0], cert[1])
    elif isinstance(cert, str):
        context.load_cert_chain(cert)
    return context


class Sent:
    """A request on the wire; ``answer()`` reads its status and body (None: no answer)."""

    def __init__(self, connection: http.client.HTTPConnection, key: tuple[Any, ...]) -> None:
        self._connection = connection
        self._key = key

    def answer(self) -> tuple[int, bytes] | None:
        connection = self._connection
        try:
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            return None
        if response.will_close:
            connection.close()
        else:
            with _idle_lock:
                idle = _idle.setdefault(self._key, [])
                if len(idle) < POOL_SIZE:
                    idle.append(connection)
                    connection = None  # type: ignore[assignment]
            if connection is not None:
                connection.close()
        return response.status, body


def send(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None = None,
    *,
    timeout: float,
    verify: Any,
    cert: Any,
) -> Sent | None:
    """Send a request to ``url`` now, on a kept-alive connection; None if it could not be
    sent (then the server cannot have acted on it: its body never arrived whole)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    cert = tuple(cert) if isinstance(cert, list) else cert
    key = (parts.scheme, parts.hostname, port, verify, cert)
    with _idle_lock:
        idle = _idle.get(key)
        connection = idle.pop() if idle else None
    if connection is None:
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname or "", port, timeout=timeout, context=_tls_context(verify, cert)
            )
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", port, timeout=timeout)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(method, target, body=body, headers=headers)
    except (OSError, http.client.HTTPException):
        connection.close()
        return None
    return Sent(connection, key)
