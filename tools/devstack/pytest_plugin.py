"""The dev stack as a pytest plugin: the one module of ``tools`` the tests import.

Loaded with ``-p tools.devstack.pytest_plugin`` (pyproject's pytest addopts). It gives
fixtures that start real servers for the session (the Kubernetes control plane, slapd,
a ready OpenBao) and re-exports the classes and helpers tests drive those servers with,
so a test writes ``from tools.devstack.pytest_plugin import ControlPlane`` and nothing
deeper. Nothing here imports Django: the product's own fixtures (the app's Vault token,
personas, Dex in front of the live server) stay in tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from tools.devstack.base import DEFAULT_TIMEOUT, StackError, local_session
from tools.devstack.chaos import Load, Tenant, bootstrap, lost_writes, under_load
from tools.devstack.dbtargets import DatabaseTarget, mariadb_target, postgres_target
from tools.devstack.kube.controlplane import ControlPlane
from tools.devstack.kube.errors import ControlPlaneError, KubeAPIError
from tools.devstack.openbao import APP_POLICY, OpenBao
from tools.devstack.postgres import Postgres
from tools.devstack.proc import free_port, gunicorn_command, tail, terminate, wait_for
from tools.devstack.replicas import find_haproxy
from tools.devstack.scale import ScaleStack
from tools.devstack.sso import CLIENT_ID, DEMO_PEOPLE, GROUPS, PEOPLE, Dex, Slapd

__all__ = [
    "APP_POLICY",
    "CLIENT_ID",
    "DEFAULT_TIMEOUT",
    "DEMO_PEOPLE",
    "GROUPS",
    "PEOPLE",
    "ControlPlane",
    "ControlPlaneError",
    "DatabaseTarget",
    "Dex",
    "KubeAPIError",
    "Load",
    "OpenBao",
    "Postgres",
    "ScaleStack",
    "Slapd",
    "StackError",
    "Tenant",
    "bootstrap",
    "find_haproxy",
    "free_port",
    "gunicorn_command",
    "kube_control_plane",
    "local_session",
    "lost_writes",
    "openbao_server",
    "slapd",
    "tail",
    "target_mariadb",
    "target_postgres",
    "terminate",
    "under_load",
    "wait_for",
]


@contextmanager
def running(start: Callable[[], object], stop: Callable[[], object]) -> Iterator[None]:
    """``start()`` now and ``stop()`` on the way out, whatever happens in between."""
    start()
    try:
        yield
    finally:
        stop()


@pytest.fixture(scope="session")
def openbao_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBao]:
    """A real OpenBao for the session (raft storage, initialised, unsealed, active); the
    caller configures what it needs on it (``configure_app``)."""
    server = OpenBao(tmp_path_factory.mktemp("openbao"))
    with running(server.start_ready, server.stop):
        yield server


@pytest.fixture(scope="session")
def kube_control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A started etcd + kube-apiserver shared by the whole session; stopped at the end.

    The first run builds the binaries with kube/build.sh (several minutes; cached afterwards
    under ~/.cache/pipeline-secrets/kube/, or $KUBE_BIN_DIR if set). Each test should use
    its own namespace (namespaces cannot be deleted for good: no controller-manager runs to
    finalize them). Logs are in <work_dir>/kube-apiserver.log and <work_dir>/etcd.log.
    """
    control_plane = ControlPlane(tmp_path_factory.mktemp("kube"))
    with running(control_plane.start, control_plane.stop):
        yield control_plane


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """slapd on 127.0.0.1 with the demo directory (DEMO_PEOPLE in their groups)."""
    server = Slapd(tmp_path_factory.mktemp("slapd"))
    with running(server.start, server.stop):
        yield server


@pytest.fixture(scope="session")
def target_postgres() -> Iterator[DatabaseTarget]:
    """A PostgreSQL server to manage with OpenBao's database engine (not the product's own
    database): database ``app``, superuser ``root_admin`` with a password; every role but
    the setup's ``postgres`` must log in with its password."""
    with postgres_target() as target:
        yield target


@pytest.fixture(scope="session")
def target_mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseTarget]:
    """A MariaDB server to manage with OpenBao's database engine: database ``app``,
    ``root_admin``@'%' with all privileges (grant option included) and a password."""
    with mariadb_target(tmp_path_factory.mktemp("mariadb")) as target:
        yield target
