"""A stand-in for a host a tenant controls: a TCP listener on a loopback address.

It counts the connections it receives and records every byte; given an answer, it reads one
HTTP request per connection and sends that answer (over TLS when given a server context).
Tests point a kubeconfig's server or a provider endpoint at it and assert that nothing
connected, or that nothing they should not see came back. A ``held`` listener is a receiver
that never answers until the test calls ``release``: each connection waits in its own thread,
and ``requests`` and ``answered`` say what it read and answered.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading


def http_answer(status: str, body: str = "", **headers: str) -> bytes:
    """A whole HTTP/1.1 response; ``content_type="x"`` becomes ``Content-Type: x``."""
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body.encode())}", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


class Listener:
    def __init__(
        self,
        answer: bytes | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
        held: bool = False,
    ) -> None:
        self.answer, self.tls, self.host, self.held = answer, tls, host, held
        self.connections = self.answered = 0
        self.received = b""
        self.requests: list[bytes] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._released = threading.Event()
        if not held:
            self._released.set()
        self._sock = socket.create_server((host, 0))
        self._sock.settimeout(0.1)
        self.port = int(self._sock.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self.connections, self.received = 0, b""

    def release(self) -> None:
        """A held listener answers every request from now on, the waiting ones first."""
        self._released.set()

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(2)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            if self.held:
                threading.Thread(target=self._handle, args=(conn,), daemon=True).start()
            else:
                self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self._reply(conn)

    def _answer(self, stream: socket.socket, request: bytes) -> bytes:
        """Record ``request``; send the answer once released (at once unless held)."""
        with self._lock:
            self.received += request
            self.requests.append(request)
        while not self._released.wait(0.05):
            if self._stop.is_set():
                return request
        assert self.answer is not None
        stream.sendall(self.answer)
        with self._lock:
            self.answered += 1
        return request

    def _reply(self, conn: socket.socket) -> bytes:
        if self.answer is None:
            return b""
        conn.settimeout(5)
        stream = self.tls.wrap_socket(conn, server_side=True) if self.tls else conn
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = stream.recv(65536)
            if not chunk:
                with self._lock:
                    self.received += data
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = stream.recv(65536)
            if not chunk:
                break
            body += chunk
            data += chunk
        return self._answer(stream, data)
