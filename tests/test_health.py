"""Liveness and readiness probes."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from tests.conftest import VaultServer
from tools.devstack.pytest_plugin import free_port

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_without_login() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ok_with_database_and_vault(vault: VaultServer) -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "vault": "ok"}}


def test_readyz_is_503_naming_vault_when_vault_is_unreachable(
    settings: Settings,
) -> None:
    settings.VAULT_ADDR = f"http://127.0.0.1:{free_port()}"
    response = Client().get("/readyz")
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["vault"] != "ok" and "unreachable" in body["checks"]["vault"]
