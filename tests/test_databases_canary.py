"""A database's root password is a canary: given to create a connection (rightly and with a
wrong variant), to change it, then rotated, with credentials issued and listed and the
pages shown. It must appear in no answer, log line, audit row or database column; an issued
password appears in the answer that issued it and nowhere else."""

from __future__ import annotations

import io
import logging
import secrets
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import Personas
from tests.test_canary import database_text
from tests.test_databases_api import connect_body, create_role, url
from tools.devstack.pytest_plugin import DatabaseTarget

pytestmark = pytest.mark.django_db


def test_the_root_password_and_issued_passwords_reach_no_log_answer_or_row(
    personas: Personas,
    clients: dict[str, APIClient],
    target_postgres: DatabaseTarget,
    vault: Any,
    settings: Any,
    app_log: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    target = target_postgres
    settings.DATABASE_ALLOW_ENDPOINTS = [f"{target.host}:{target.port}"]
    canary = f"canary-{secrets.token_hex(12)}"
    name = f"root_{secrets.token_hex(4)}"
    with target.connect() as admin:
        admin.execute(f"CREATE ROLE {name} SUPERUSER LOGIN PASSWORD '{canary}'")
    org = personas.org.pk
    admin_client = clients["admin"]
    body = connect_body(target, username=name, password=canary)
    answers = [
        admin_client.post(
            url(org, "database-connections"), {**body, "password": canary + "x"}, format="json"
        ),
        admin_client.post(
            url(org, "database-connections"), {**body, "host": "bad host"}, format="json"
        ),
    ]
    created = admin_client.post(url(org, "database-connections"), body, format="json")
    assert created.status_code == 201, created.content
    connection = created.json()["id"]
    answers += [
        created,
        admin_client.patch(
            url(org, f"database-connections/{connection}"), {"password": canary}, format="json"
        ),
        admin_client.get(url(org, f"database-connections/{connection}")),
        admin_client.post(url(org, f"database-connections/{connection}/rotate-root")),
    ]
    role = create_role(admin_client, org, connection)
    issued = clients["member"].post(url(org, f"database-roles/{role['id']}/credentials"))
    password = issued.json()["password"]
    answers += [
        clients["member"].get(url(org, f"database-roles/{role['id']}/leases")),
        clients["member"].get(url(org, f"database-roles/{role['id']}")),
        admin_client.get(url(org, "database-connections")),
    ]
    page = Client()
    page.force_login(personas.admin)
    shown = page.get(f"/orgs/{org}/databases/")
    assert [a.status_code for a in answers[:2]] == [400, 400]
    assert canary not in shown.content.decode() and password not in shown.content.decode()
    for answer in answers:
        text = answer.content.decode()
        assert canary not in text and password not in text, (answer.status_code, text[:300])
    assert canary not in issued.content.decode() and password in issued.content.decode()
    logged = app_log.getvalue() + "\n".join(r.getMessage() for r in caplog.records)
    assert canary not in logged and password not in logged
    stored = database_text()
    assert canary not in stored and password not in stored
