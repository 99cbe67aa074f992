"""Fixtures for sign-in through real servers: Dex for LDAP (in front of the dev stack's
``slapd`` fixture), the GitHub stand-in, and a real SMTP server for invitation mails. Each
is started by the test session."""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from django.conf import settings
from django.test import Client

from accounts import oidc
from tests.github_standin import GitHubStandIn
from tools.devstack.pytest_plugin import CLIENT_ID, DEMO_PEOPLE, Dex, Slapd, free_port

PASSWORDS = {p.uid: p.password for p in DEMO_PEOPLE}


def _redirects(base_url: str) -> list[str]:
    port = urllib.parse.urlsplit(base_url).port
    return [f"http://{host}:{port}/oidc/callback/" for host in ("localhost", "127.0.0.1")]


@pytest.fixture(scope="session")
def dex(slapd: Slapd, live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dex]:
    server = Dex(tmp_path_factory.mktemp("dex"), slapd, _redirects(live_server.url))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def use_dex(server: Dex) -> dict[str, Any]:
    """Point the product at ``server`` as the operator's environment would; returns what to
    restore."""
    names = ["OIDC_ISSUER", "OIDC_RP_CLIENT_ID", "OIDC_RP_CLIENT_SECRET", *oidc.ENDPOINTS.values()]
    saved = {name: getattr(settings, name) for name in names}
    settings.OIDC_ISSUER = server.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = server.client_secret
    oidc.configure()
    return saved


@pytest.fixture
def ldap_signin(dex: Dex) -> Iterator[Dex]:
    """The product with "Sign in with LDAP" through the session's Dex."""
    saved = use_dex(dex)
    try:
        yield dex
    finally:
        for name, value in saved.items():
            setattr(settings, name, value)


@dataclass
class Tokens:
    access_token: str
    id_token: str


FORM_ACTION = re.compile(r'<form[^>]*action="([^"]*)"', re.IGNORECASE)


def dex_authorize(server: Dex, auth_url: str, username: str, password: str | None = None) -> str:
    """Fill in Dex's real LDAP form at ``auth_url`` (an authorization request); returns the
    redirect back to the client, with the code."""
    session = requests.Session()
    session.trust_env = False
    page = session.get(auth_url, timeout=10)
    page.raise_for_status()
    action = FORM_ACTION.search(page.text)
    post_url = urllib.parse.urljoin(
        page.url, html.unescape(action.group(1)) if action else page.url
    )
    answer = session.post(
        post_url,
        data={"login": username, "password": password or PASSWORDS[username]},
        allow_redirects=False,
        timeout=10,
    )
    for _ in range(5):
        location = answer.headers.get("Location", "")
        if any(location.startswith(uri) for uri in server.redirect_uris):
            return location
        assert answer.status_code in (302, 303), (answer.status_code, answer.text[:300])
        answer = session.get(
            urllib.parse.urljoin(answer.url, location), allow_redirects=False, timeout=10
        )
    raise AssertionError("Dex did not redirect back to the client")


def dex_tokens(server: Dex, username: str, password: str | None = None) -> Tokens:
    """The authorization-code flow against Dex's real LDAP form, as a command-line tool
    would run it: returns the tokens Dex issues to the product's client."""
    redirect_uri = server.redirect_uris[0]
    query = urllib.parse.urlencode(
        {
            "client_id": CLIENT_ID,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "openid email profile groups",
            "state": "state-for-tests",
            "connector_id": "ldap",
        }
    )
    location = dex_authorize(server, f"{server.issuer}/auth?{query}", username, password)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
    session = requests.Session()
    session.trust_env = False
    token = session.post(
        f"{server.issuer}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
        auth=(CLIENT_ID, server.client_secret),
        timeout=10,
    )
    token.raise_for_status()
    body = token.json()
    return Tokens(access_token=body["access_token"], id_token=body["id_token"])


def dex_sign_in(server: Dex, username: str, password: str | None = None) -> Client:
    """The product's interactive "Sign in with LDAP" (the page's button, Dex's form, the
    callback), without a browser: returns the signed-in test client."""
    host = urllib.parse.urlsplit(server.redirect_uris[-1]).netloc  # 127.0.0.1:<port>
    client = Client(HTTP_HOST=host)
    start = client.get("/oidc/authenticate/")
    assert start.status_code == 302 and start["Location"].startswith(server.issuer), start
    back = urllib.parse.urlsplit(dex_authorize(server, start["Location"], username, password))
    done = client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302, done.content[:300]
    assert "_auth_user_id" in client.session, done["Location"]
    return client


# --------------------------------------------------------------------------- GitHub


@pytest.fixture(scope="session")
def github_server() -> Iterator[GitHubStandIn]:
    from tests import github_env

    server = GitHubStandIn(client_id=github_env.CLIENT_ID, client_secret=github_env.CLIENT_SECRET)
    server.start(github_env.SOCKET)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def github(github_server: GitHubStandIn) -> Iterator[GitHubStandIn]:
    """The stand-in, with no users and nobody signed in at the start of each test."""
    github_server.users.clear()
    github_server.signed_in = ""
    github_server.requests.clear()
    github_server.scopes.clear()
    yield github_server


# --------------------------------------------------------------------------- mail


@dataclass
class Mailbox:
    """What the real SMTP server received."""

    host: str
    port: int
    messages: list[Any]

    def last_to(self, address: str) -> Any:
        found = [m for m in self.messages if address in m["To"]]
        assert found, f"no mail to {address}"
        return found[-1]


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[Mailbox]:
    """aiosmtpd listening on 127.0.0.1: a real SMTP server in a thread of its own."""
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    box = Mailbox(host="127.0.0.1", port=free_port(), messages=[])

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_server: Mailbox, settings: Any) -> Mailbox:
    """The product sends its mail through the real SMTP server for this test."""
    smtp_server.messages.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    return smtp_server
