"""The Databases pages of the dashboard, against real OpenBao and a real PostgreSQL: admins
add connections (the root password shown nowhere afterwards) and roles, every field's
problem shown at once; members issue credentials that log in, shown once, and revoke them
from the live leases; admins rotate the root credential after a confirmation; viewers see
no forms and are refused every change."""

from __future__ import annotations

import html
import io
import uuid
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.test import Client

from clusters.models import Cluster
from databases.models import DatabaseConnection, DatabaseLease, DatabaseRole
from tests.conftest import Personas
from tests.test_dashboard import signed_in
from tests.test_dashboard_orgs import assert_every_input_labelled
from tools.devstack.pytest_plugin import DatabaseTarget

pytestmark = pytest.mark.django_db


def page(personas: Personas, suffix: str = "") -> str:
    return f"/orgs/{personas.org.pk}/databases/{suffix}"


@pytest.fixture
def target(target_postgres: DatabaseTarget, settings: Any, vault: Any) -> DatabaseTarget:
    settings.DATABASE_ALLOW_ENDPOINTS = [f"127.0.0.1:{target_postgres.port}"]
    return target_postgres


def connection_data(target: DatabaseTarget, name: str = "orders") -> dict[str, Any]:
    return {
        "name": name,
        "engine": target.engine,
        "host": target.host,
        "port": str(target.port),
        "database": target.database,
        "username": target.username,
        "password": target.password,
        "tls_mode": "disable",
    }


def add_connection(admin: Client, personas: Personas, data: dict[str, Any]) -> Any:
    response = admin.post(page(personas, "new/"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return DatabaseConnection.objects.get(name=data["name"])


def add_role(admin: Client, personas: Personas, connection: Any, **extra: str) -> DatabaseRole:
    data = {"role-name": "reader", "role-preset": "read-only", "role-default_ttl": "1h"}
    data = {**data, "role-max_ttl": "24h", **extra}
    response = admin.post(page(personas, f"{connection.pk}/roles/"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    role = DatabaseRole.objects.get(connection=connection, name=data["role-name"])
    assert response["Location"] == page(personas, f"roles/{role.pk}/")
    return role


def issue(client: Client, personas: Personas, role: DatabaseRole) -> tuple[str, str, Any]:
    """The username and password an issue answer shows, and the answer."""
    response = client.post(page(personas, f"roles/{role.pk}/credentials/"))
    assert response.status_code == 200, response.content.decode()[:2000]
    body = response.content.decode()

    def shown(element_id: str) -> str:
        return html.unescape(body.split(f'id="{element_id}">', 1)[1].split("<", 1)[0])

    return shown("issued-username"), shown("issued-password"), response


def dump() -> str:
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    return out.getvalue()


def logs_in(target: DatabaseTarget, username: str, password: str) -> bool:
    try:
        connection = target.connect(username, password)
    except psycopg.OperationalError:
        return False
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        return bool(cursor.fetchone())
    finally:
        connection.close()


def test_admin_adds_a_connection_and_a_role_and_the_root_password_shows_nowhere(
    personas: Personas, target: DatabaseTarget
) -> None:
    admin = signed_in(personas, "admin")
    form = admin.get(page(personas, "new/")).content.decode()
    assert_every_input_labelled(form)
    assert "DATABASE_ALLOW_NETWORKS" in form and 'type="password"' in form
    connection = add_connection(admin, personas, connection_data(target))
    detail = admin.get(page(personas, f"{connection.pk}/")).content.decode()
    assert "Added connection orders" in detail and "not rotated" in detail
    assert_every_input_labelled(detail)
    role = add_role(admin, personas, connection, **{"role-default_ttl": "30m"})
    assert (role.default_ttl, role.max_ttl, role.schema) == (1800, 86400, "public")
    pages = ["", "new/", f"{connection.pk}/", f"{connection.pk}/rotate-root/"]
    pages += [f"{connection.pk}/delete/", f"roles/{role.pk}/", f"roles/{role.pk}/delete/"]
    for suffix in pages:
        response = admin.get(page(personas, suffix))
        assert response.status_code == 200, suffix
        assert target.password not in response.content.decode(), suffix
    listed = admin.get(page(personas)).content.decode()
    assert "orders" in listed and "reader" in listed
    assert target.password not in dump()


def test_bad_input_shows_every_field_error_at_once_and_never_echoes_the_password(
    personas: Personas, target: DatabaseTarget
) -> None:
    admin = signed_in(personas, "admin")
    bad = {
        "name": "9 lives",
        "engine": "oracle",
        "host": "db host",
        "port": "99999",
        "database": "",
        "username": "root user",
        "password": "a-root-password-never-echoed",
        "tls_mode": "sometimes",
    }
    response = admin.post(page(personas, "new/"), bad)
    body = response.content.decode()
    assert response.status_code == 400
    for field in ("name", "engine", "host", "port", "database", "username", "tls_mode"):
        assert f'id="id_{field}_error"><p class="error">' in body, field
    assert "A port is a number from 1 to 65535." in body
    assert bad["password"] not in body and not DatabaseConnection.objects.exists()
    # With htmx only the errors come back (what was typed stays in the browser's form).
    htmx = admin.post(page(personas, "new/"), bad, headers={"HX-Request": "true"})
    partial = htmx.content.decode()
    assert htmx.status_code == 200 and htmx["HX-Reswap"] == "none"
    assert 'id="id_port_error" hx-swap-oob="true"><p class="error">' in partial
    assert bad["password"] not in partial and "<form" not in partial
    # The engine's refusal (nothing listens there) is the host's error; nothing is kept.
    refused = {**connection_data(target), "port": "1"}
    response = admin.post(page(personas, "new/"), refused)
    assert response.status_code == 400 and "id_host_error" in response.content.decode()
    assert not DatabaseConnection.objects.exists()
    connection = add_connection(admin, personas, connection_data(target))
    bad_role = {
        "role-name": "no good",
        "role-preset": "custom",
        "role-default_ttl": "soon",
        "role-max_ttl": "1000h",
        "role-creation_statements": "GRANT SELECT ON ALL TABLES IN SCHEMA public TO x;",
    }
    response = admin.post(page(personas, f"{connection.pk}/roles/"), bad_role)
    body = response.content.decode()
    assert response.status_code == 400
    for field in ("name", "default_ttl", "max_ttl", "creation_statements"):
        assert f'id="id_role-{field}_error"><p class="error">' in body, field
    assert "{{name}}" in body and "From 1 second to 30 days." in body
    longer = {"role-name": "r", "role-preset": "owner", "role-default_ttl": "2h"}
    response = admin.post(
        page(personas, f"{connection.pk}/roles/"), {**longer, "role-max_ttl": "1h"}
    )
    assert "Must not exceed the maximum TTL." in response.content.decode()
    assert not DatabaseRole.objects.exists()


@pytest.fixture
def made(personas: Personas, target: DatabaseTarget) -> tuple[Any, DatabaseRole, DatabaseLease]:
    """A connection and a role added by the admin, and credentials issued to the member."""
    admin = signed_in(personas, "admin")
    connection = add_connection(admin, personas, connection_data(target))
    role = add_role(admin, personas, connection)
    username, _, _ = issue(signed_in(personas, "member"), personas, role)
    return connection, role, DatabaseLease.objects.get(username=username)


def test_viewer_sees_no_forms_and_is_refused_every_change(personas: Personas, made: Any) -> None:
    connection, role, lease = made
    viewer, member = signed_in(personas, "viewer"), signed_in(personas, "member")
    for client, issues in ((viewer, False), (member, True)):
        listed = client.get(page(personas)).content.decode()
        detail = client.get(page(personas, f"{connection.pk}/")).content.decode()
        role_page = client.get(page(personas, f"roles/{role.pk}/")).content.decode()
        assert "Add a connection" not in listed and ">reader</a>" in detail
        assert "Rotate root credential" not in detail and "Add a role" not in detail
        assert "Delete role" not in role_page
        assert ("Issue credentials</button>" in role_page) is issues
        assert (lease.username in role_page) is issues  # the live leases are the members'
    posts = [
        "new/",
        f"{connection.pk}/roles/",
        f"{connection.pk}/rotate-root/",
        f"{connection.pk}/delete/",
        f"roles/{role.pk}/credentials/",
        f"roles/{role.pk}/install/",
        f"roles/{role.pk}/delete/",
        f"leases/{lease.public_id}/revoke/",
    ]
    for suffix in posts:
        assert viewer.post(page(personas, suffix), {"name": "x"}).status_code == 403, suffix
    for suffix in posts[:4] + posts[6:7]:
        assert member.post(page(personas, suffix), {"name": "x"}).status_code == 403, suffix
    assert (
        signed_in(personas, "outsider").get(page(personas, f"roles/{role.pk}/")).status_code == 404
    )
    assert DatabaseRole.objects.filter(pk=role.pk).exists()
    assert DatabaseLease.objects.get(pk=lease.pk).revoked_at is None


def test_deleting_a_connection_needs_its_roles_deleted_first(
    personas: Personas, made: Any, target: DatabaseTarget
) -> None:
    connection, role, _ = made
    username, password, _ = issue(signed_in(personas, "member"), personas, role)
    assert logs_in(target, username, password)
    admin = signed_in(personas, "admin")
    response = admin.post(page(personas, f"{connection.pk}/delete/"))
    assert response.status_code == 409 and "still has roles" in response.content.decode()
    assert DatabaseConnection.objects.filter(pk=connection.pk).exists()
    confirm = admin.get(page(personas, f"roles/{role.pk}/delete/")).content.decode()
    assert "are revoked now" in confirm
    gone = admin.post(page(personas, f"roles/{role.pk}/delete/"))
    assert gone.status_code == 302 and gone["Location"] == page(personas, f"{connection.pk}/")
    assert not logs_in(target, username, password)  # its credentials were revoked
    deleted = admin.post(page(personas, f"{connection.pk}/delete/"))
    assert deleted.status_code == 302 and deleted["Location"] == page(personas)
    assert not DatabaseConnection.objects.exists()


def test_install_form_shows_the_namespace_problem(personas: Personas, made: Any) -> None:
    role = made[1]
    cluster = Cluster.objects.create(organization=personas.org, name="c1", kubeconfig_secret_id="0")
    member = signed_in(personas, "member")
    form = member.get(page(personas, f"roles/{role.pk}/")).content.decode()
    assert_every_input_labelled(form)
    assert f'<option value="{cluster.pk}">c1</option>' in form
    data = {"install-cluster": str(cluster.pk), "install-namespace": "Not A Label"}
    response = member.post(page(personas, f"roles/{role.pk}/install/"), data)
    assert response.status_code == 400
    assert 'id="id_install-namespace_error"><p class="error">' in response.content.decode()
    assert not role.installs.exists()


def test_member_issues_credentials_that_log_in_shown_once_then_revokes_them(
    personas: Personas, target: DatabaseTarget
) -> None:
    admin, member = signed_in(personas, "admin"), signed_in(personas, "member")
    connection = add_connection(admin, personas, connection_data(target))
    role = add_role(admin, personas, connection)
    username, password, response = issue(member, personas, role)
    assert "no-store" in response["Cache-Control"]
    assert logs_in(target, username, password)
    assert password not in str(response.cookies) and password not in dump()
    again = member.get(page(personas, f"roles/{role.pk}/")).content.decode()
    assert username in again and password not in again and "issued-password" not in again
    lease = DatabaseLease.objects.get(username=username)
    assert lease.issued_by == "mike" and lease.purpose == "issue"
    htmx = member.post(
        page(personas, f"roles/{role.pk}/credentials/"), headers={"HX-Request": "true"}
    )
    assert htmx["HX-Push-Url"] == page(personas, f"roles/{role.pk}/")  # a reload: the role
    assert "<html" not in htmx.content.decode() and "issued-password" in htmx.content.decode()
    revoked = member.post(page(personas, f"leases/{lease.public_id}/revoke/"))
    assert revoked.status_code == 302 and revoked["Location"] == page(personas, f"roles/{role.pk}/")
    assert not logs_in(target, username, password)
    after = member.get(page(personas, f"roles/{role.pk}/")).content.decode()
    assert f"Revoked {username}" in after and f"<code>{username}</code>" not in after


def test_admin_rotates_the_root_credential_after_a_confirmation(
    personas: Personas, target: DatabaseTarget
) -> None:
    root = target.new_admin(f"rot_{uuid.uuid4().hex[:8]}")
    admin, member = signed_in(personas, "admin"), signed_in(personas, "member")
    data = {**connection_data(target, "rotated"), "username": root.username}
    connection = add_connection(admin, personas, {**data, "password": root.password})
    url = page(personas, f"{connection.pk}/rotate-root/")
    confirm = admin.get(url).content.decode()
    assert "cannot be undone" in confirm and f'action="{url}"' in confirm
    assert logs_in(target, root.username, root.password)
    done = admin.post(url)
    assert done.status_code == 302 and done["Location"] == page(personas, f"{connection.pk}/")
    connection.refresh_from_db()
    assert connection.root_rotated_at is not None
    assert not logs_in(target, root.username, root.password)
    detail = admin.get(done["Location"]).content.decode()
    assert "only OpenBao knows it" in detail and root.password not in detail
    # The engine still manages the database with the password only it knows.
    role = add_role(admin, personas, connection)
    username, password, _ = issue(member, personas, role)
    assert logs_in(target, username, password)
