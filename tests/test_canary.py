"""A canary string goes everywhere a credential can: secret values, kubeconfigs, a file the
server can read, API tokens and passwords. It is then driven through the endpoints, failing
calls included, and must appear in no log line, no problem document, no audit row and no
database column: only Vault holds it, and only answers that were asked for values show it.
"""

from __future__ import annotations

import io
import logging
import secrets
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from orgs import services as org_services
from tests.conftest import Personas, VaultServer
from tests.schema_check import CheckedAPIClient
from tools.devstack.pytest_plugin import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def canary() -> str:
    return f"canary-{secrets.token_hex(12)}"


def kubeconfig(server: str, user: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": server}}],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        }
    )


def database_text() -> str:
    """Every row of every table, as text."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_a_canary_reaches_no_log_problem_audit_row_or_column(
    vault: VaultServer,
    personas: Personas,
    clients: dict[str, APIClient],
    canary: str,
    tmp_path: Path,
    app_log: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    org = personas.org.pk
    secrets_url = f"/api/v1/orgs/{org}/secrets"
    admin, member = clients["admin"], clients["member"]
    canary_file = tmp_path / "server-file"
    canary_file.write_text(canary)
    closed = f"https://127.0.0.1:{free_port()}"
    asked_for_values: list[Any] = []  # answers that may show it: they asked for values
    others: list[Any] = []  # everything else, failures included

    # Secret values, through create, read, list, update, validate, tags, delete.
    created = member.post(
        secrets_url,
        {"name": "db", "type": "generic", "values": {"password": canary}, "tags": ["t:1"]},
        format="json",
    )
    assert created.status_code == 201
    sid = created.json()["id"]
    pw = member.post(
        secrets_url,
        {"name": "pw", "type": "password", "values": {"username": "u", "password": canary}},
        format="json",
    )
    assert pw.status_code == 201
    asked_for_values += [
        member.get(f"{secrets_url}/{sid}"),
        member.get(f"{secrets_url}?values=true"),
        member.get(f"{secrets_url}/{sid}?version=1"),
    ]
    others += [
        created,
        pw,
        member.get(secrets_url),
        clients["viewer"].get(f"{secrets_url}/{sid}"),
        clients["viewer"].get(f"{secrets_url}/{sid}?values=true"),
        clients["outsider"].get(f"{secrets_url}/{sid}"),
        member.put(
            f"{secrets_url}/{sid}",
            {"values": {"password": canary}, "version": 99},
            format="json",
        ),
        member.post(
            secrets_url,
            {"name": "db", "type": "generic", "values": {"password": canary}},
            format="json",
        ),
        member.post(
            secrets_url,
            {"name": "aws", "type": "amazon", "values": {"AWS_ACCESS_KEY_ID": canary}},
            format="json",
        ),
        member.post(
            secrets_url,
            {
                "name": "aws2",
                "type": "amazon",
                "values": {
                    "AWS_ACCESS_KEY_ID": "AKIA0000000000000000",
                    "AWS_SECRET_ACCESS_KEY": canary,
                },
            },
            format="json",
        ),
        member.post(
            secrets_url,
            {"name": "tls", "type": "tls", "values": {"hosts": "x", "caCert": canary}},
            format="json",
        ),
        member.post(
            secrets_url,
            {
                "name": "ht",
                "type": "htpasswd",
                "values": {"username": f"{canary}:", "password": canary},
            },
            format="json",
        ),
        member.post(
            secrets_url,
            # A bad name is answered with a fixed one (names are no values): the canary
            # stands in the keys and values only.
            {"name": "Bad-name", "type": "generic", "values": {canary: canary}},
            format="json",
        ),
        member.put(f"{secrets_url}/{sid}/tags/{canary}%00"),
        member.get(f"{secrets_url}/{sid}/validate"),
    ]

    # Kubeconfigs: an inline token, and file paths pointing at the canary file.
    for user in (
        {"token": canary},
        {"tokenFile": str(canary_file)},
        {"client-certificate": str(canary_file), "client-key": str(canary_file)},
    ):
        text = kubeconfig(closed, user)
        others += [
            admin.post(
                secrets_url,
                {"name": "kc", "type": "kubernetes", "values": {"K8Sconfig": text}},
                format="json",
            ),
            admin.post(
                f"/api/v1/orgs/{org}/clusters", {"name": "c1", "kubeconfig": text}, format="json"
            ),
            admin.post(
                f"/api/v1/orgs/{org}/clusters?validate=false",
                {"name": "c2", "kubeconfig": text},
                format="json",
            ),
        ]
    cluster = admin.get(f"/api/v1/orgs/{org}/clusters").json()
    for item in cluster:
        others += [
            admin.get(f"/api/v1/orgs/{org}/clusters/{item['id']}?check=true"),
            member.post(
                f"/api/v1/orgs/{org}/clusters/{item['id']}/secrets",
                {"namespace": "ns", "query": {"type": "generic"}},
                format="json",
            ),
        ]

    # Tokens and passwords.
    _, raw_token = org_services.token_create(user=personas.member, name="ci")
    with_token = CheckedAPIClient()
    with_token.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
    others += [
        with_token.get(secrets_url),
        with_token.get("/api/v1/tokens"),
        CheckedAPIClient(HTTP_AUTHORIZATION=f"Bearer {canary}").get(secrets_url),
    ]
    personas.viewer.set_password(canary)
    personas.viewer.save()
    browser = Client()
    pages = [
        browser.post("/accounts/login/", {"login": "vera", "password": canary[:-1]}),
        browser.post("/accounts/login/", {"login": "nobody", "password": canary}),
        browser.post("/accounts/login/", {"login": "vera", "password": canary}),
        browser.post(
            "/accounts/password/",
            {"oldpassword": "wrong", "password1": canary, "password2": canary + "x"},
        ),
    ]

    for answer in others:
        assert canary not in answer.content.decode(), (answer.status_code, answer.content[:300])
        assert raw_token not in answer.content.decode()
    for answer in pages:
        assert canary not in answer.content.decode()
    assert any(canary in a.content.decode() for a in asked_for_values)
    assert any(a.status_code >= 400 for a in others)

    logged = app_log.getvalue() + "\n".join(r.getMessage() for r in caplog.records)
    assert logged, "the handler wrote nothing: the capture is broken"
    for marker in (canary, raw_token):
        assert marker not in logged
        assert marker not in database_text()
    from audit.models import AuditEvent

    assert AuditEvent.objects.exists()
    assert canary not in repr(list(AuditEvent.objects.values()))
