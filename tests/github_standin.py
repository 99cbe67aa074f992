"""A local stand-in for the few GitHub endpoints that allauth's GitHub provider and the
product's organization sync call, served over real HTTP on 127.0.0.1:

* ``GET /login/oauth/authorize``: the user the test chose has already approved the app, so
  it redirects back at once with a code (GitHub does the same for an approved app);
* ``POST /login/oauth/access_token``: the code for a token (client id and secret checked);
* ``GET /api/v3/user``, ``/api/v3/user/emails``, ``/api/v3/user/orgs``, ``/api/v3/user/teams``.

Tests change the users' organizations and teams between sign-ins.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class GitHubUser:
    id: int
    login: str
    email: str = ""
    email_verified: bool = True
    orgs: set[str] = field(default_factory=set)
    teams: set[tuple[str, str]] = field(default_factory=set)  # (org login, team slug)


@dataclass
class GitHubStandIn:
    client_id: str
    client_secret: str
    users: dict[str, GitHubUser] = field(default_factory=dict)
    signed_in: str = ""  # the login of the user in "the browser" at GitHub
    codes: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def add(self, login: str, **kwargs: Any) -> GitHubUser:
        user = GitHubUser(id=1000 + len(self.users), login=login, **kwargs)
        self.users[login] = user
        return user

    def start(self, sock: socket.socket) -> None:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def user(self) -> GitHubUser | None:
                auth = self.headers.get("Authorization", "")
                scheme, _, token = auth.partition(" ")
                if scheme.lower() not in ("token", "bearer"):
                    return None
                login = standin.tokens.get(token.strip())
                return standin.users.get(login) if login else None

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                standin.requests.append(f"GET {url.path}")
                if url.path == "/login/oauth/authorize":
                    if query.get("client_id") != standin.client_id or not standin.signed_in:
                        return self.reply(400, {"error": "bad client or nobody signed in"})
                    standin.scopes.append(query.get("scope", ""))
                    code = secrets.token_urlsafe(16)
                    standin.codes[code] = standin.signed_in
                    target = (
                        query["redirect_uri"]
                        + "?"
                        + urllib.parse.urlencode({"code": code, "state": query.get("state", "")})
                    )
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                user = self.user()
                if user is None:
                    return self.reply(401, {"message": "Bad credentials"})
                if url.path == "/api/v3/user":
                    return self.reply(
                        200,
                        {"id": user.id, "login": user.login, "name": user.login, "email": None},
                    )
                if url.path == "/api/v3/user/emails":
                    emails = (
                        [{"email": user.email, "verified": user.email_verified, "primary": True}]
                        if user.email
                        else []
                    )
                    return self.reply(200, emails)
                if url.path == "/api/v3/user/orgs":
                    return self.reply(200, [{"login": o} for o in sorted(user.orgs)])
                if url.path == "/api/v3/user/teams":
                    teams = [
                        {"slug": slug, "organization": {"login": org}}
                        for org, slug in sorted(user.teams)
                    ]
                    return self.reply(200, teams)
                return self.reply(404, {"message": "Not Found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                standin.requests.append(f"POST {self.path}")
                if urllib.parse.urlsplit(self.path).path != "/login/oauth/access_token":
                    return self.reply(404, {"message": "Not Found"})
                if (form.get("client_id"), form.get("client_secret")) != (
                    standin.client_id,
                    standin.client_secret,
                ):
                    return self.reply(200, {"error": "incorrect_client_credentials"})
                login = standin.codes.pop(form.get("code", ""), None)
                if login is None:
                    return self.reply(200, {"error": "bad_verification_code"})
                token = "gho_" + secrets.token_urlsafe(24)
                standin.tokens[token] = login
                return self.reply(
                    200,
                    {"access_token": token, "token_type": "bearer", "scope": "read:org,user:email"},
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.server.socket.close()
        self.server.socket = sock
        self.server.server_address = sock.getsockname()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
