"""Fixtures: the app on the session's real OpenBao, the three personas plus a member, API
clients. The servers themselves (OpenBao, the Kubernetes control plane, slapd) come from the
dev stack's plugin, tools.devstack.pytest_plugin (loaded by pyproject's addopts).

Personas: ``admin``, ``member`` and ``viewer`` of org A; ``outsider``, admin of org B.
API clients authenticate with real bearer tokens minted by the token service, and check every
answer against the OpenAPI document (``tests.schema_check.CheckedAPIClient``).
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from orgs import services as org_services
from orgs.models import Membership, Organization, Role, Source, User
from pipeline_secrets.core.logsafe import ScrubbedFormatter
from tests.schema_check import CheckedAPIClient
from tools.devstack.pytest_plugin import OpenBao


@dataclass
class VaultServer:
    server: OpenBao
    app_token: str

    @property
    def root(self) -> hvac.Client:
        return self.server.root_client()


@pytest.fixture(scope="session")
def vault_server(openbao_server: OpenBao) -> VaultServer:
    """The session's real OpenBao (raft storage, initialised, unsealed) with the app's policy
    and token."""
    token = openbao_server.configure_app(mount=settings.VAULT_MOUNT)
    return VaultServer(server=openbao_server, app_token=token)


def _wipe_orgs(client: hvac.Client) -> None:
    kv = client.secrets.kv.v2
    try:
        orgs = kv.list_secrets(path="orgs", mount_point=settings.VAULT_MOUNT)["data"]["keys"]
    except hvac.exceptions.InvalidPath:
        return
    for org in orgs:
        _wipe_folder(kv, f"orgs/{org}")


def _wipe_folder(kv: Any, folder: str) -> None:
    """Delete every document under ``folder`` (ending in ``/``), sub-folders too."""
    keys = kv.list_secrets(path=folder, mount_point=settings.VAULT_MOUNT)["data"]["keys"]
    for key in keys:
        if key.endswith("/"):
            _wipe_folder(kv, f"{folder}{key}")
        else:
            kv.delete_metadata_and_all_versions(
                path=f"{folder}{key}", mount_point=settings.VAULT_MOUNT
            )


@pytest.fixture
def vault(vault_server: VaultServer) -> Iterator[VaultServer]:
    """Points the app at the session's OpenBao; every secret is wiped after the test."""
    saved = (settings.VAULT_ADDR, settings.VAULT_TOKEN)
    settings.VAULT_ADDR = vault_server.server.addr
    settings.VAULT_TOKEN = vault_server.app_token
    try:
        yield vault_server
    finally:
        settings.VAULT_ADDR, settings.VAULT_TOKEN = saved
        _wipe_orgs(vault_server.root)


@pytest.fixture
def own_vault(tmp_path: Path, settings) -> Iterator[OpenBao]:
    """An OpenBao of this test alone, so stopping it disturbs nobody else."""
    server = OpenBao(tmp_path / "bao")
    server.start_ready()
    settings.VAULT_ADDR = server.addr
    settings.VAULT_TOKEN = server.configure_app(mount=settings.VAULT_MOUNT)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def short_vault_retries(settings) -> None:
    """Tests that stop or seal OpenBao expect the 503 at once, not after the production
    retry bound (VAULT_RETRY_SECONDS) per call; the leader-election tests set their own."""
    settings.VAULT_RETRY_SECONDS = 1


@pytest.fixture(autouse=True)
def fast_password_hasher(settings) -> None:
    """Tests create many users; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Personas:
    org: Organization
    other_org: Organization
    admin: User
    member: User
    viewer: User
    outsider: User

    def user(self, name: str) -> User:
        return getattr(self, name)


def make_user(username: str) -> User:
    return User.objects.create_user(username=username, password="correct horse battery")


@pytest.fixture
def personas(db: None) -> Personas:
    admin = make_user("alice")
    outsider = make_user("oscar")
    # Set up as the operator would (ORG_CREATION does not limit it); mike and vera joined by
    # accepting invitations, the only way in besides creating an org or a trusted link.
    org = org_services.organization_create(actor=admin, name="org-a", operator=True)
    other = org_services.organization_create(actor=outsider, name="org-b", operator=True)
    member = make_user("mike")
    viewer = make_user("vera")
    for user, role in ((member, Role.MEMBER), (viewer, Role.VIEWER)):
        Membership.objects.create(user=user, organization=org, role=role, source=Source.INVITATION)
    return Personas(org, other, admin, member, viewer, outsider)


def token_client(user: User) -> APIClient:
    _, raw = org_services.token_create(user=user, name="tests")
    client = CheckedAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def clients(personas: Personas) -> dict[str, APIClient]:
    """One authenticated API client per persona, plus ``anonymous``."""
    result = {
        name: token_client(personas.user(name))
        for name in ("admin", "member", "viewer", "outsider")
    }
    result["anonymous"] = CheckedAPIClient()
    return result


@pytest.fixture
def app_log() -> Iterator[io.StringIO]:
    """Everything the configured console handler writes (the product's log output), at DEBUG."""
    root = logging.getLogger()
    handler = next(
        h
        for h in root.handlers
        if isinstance(h, logging.StreamHandler) and isinstance(h.formatter, ScrubbedFormatter)
    )
    buffer = io.StringIO()
    saved_stream, saved_level = handler.setStream(buffer), root.level
    root.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        handler.setStream(saved_stream)
        root.setLevel(saved_level)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- SQLite runs


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """On SQLite the test database is a file, as under ``make run``: WAL and IMMEDIATE
    transactions apply, and live-server threads get connections of their own (Django's
    in-memory default would share one connection between all threads)."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        name = tmp_path_factory.mktemp("sqlite") / "tests.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(name)


# --------------------------------------------------------------------------- markers

BROWSER_TESTS = Path(__file__).resolve().parent / "browser"
MARK_BY_FIXTURE = {
    "vault": "vault",
    "vault_server": "vault",
    "openbao_server": "vault",
    "kube_control_plane": "kube",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test by what it needs, so ``-m`` selections never rely on a file
    remembering: ``vault`` and ``kube`` by the fixtures it uses (directly or through other
    fixtures), ``browser`` for everything under tests/browser."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        marks = {mark for fixture, mark in MARK_BY_FIXTURE.items() if fixture in fixtures}
        if item.path.is_relative_to(BROWSER_TESTS):
            marks.add("browser")
        for mark in sorted(marks - {m.name for m in item.iter_markers()}):
            item.add_marker(mark)


from tests.sso_fixtures import (  # noqa: E402, F401
    dex,
    github,
    github_server,
    ldap_signin,
    mailbox,
    smtp_server,
)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How much of the product the route x persona matrix covered, when it ran."""
    matrix = sys.modules.get("tests.test_policy_matrix")
    if matrix is not None:
        terminalreporter.write_line(matrix.coverage_line())
