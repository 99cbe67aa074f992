"""The dashboard's lifecycle pages: versions with rollback and destroy, the rotation card,
rotating now, and the expiring view, for each role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from audit.models import AuditEvent
from secrets_app import services
from secrets_app.models import SecretIndex, SecretLifecycle
from tests.conftest import Personas, VaultServer
from tests.helpers import secret_values
from tests.test_dashboard import signed_in

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def base(personas: Personas) -> str:
    return f"/orgs/{personas.org.pk}/secrets/"


def page(personas: Personas, row: SecretIndex, suffix: str = "") -> str:
    return f"{base(personas)}{row.secret_id}/{suffix}"


def make(personas: Personas, name: str, type: str, values: dict[str, str]) -> SecretIndex:
    return services.secret_create(
        actor=personas.admin, organization=personas.org, name=name, type=type, values=values
    ).row


def with_versions(personas: Personas) -> SecretIndex:
    row = make(personas, "app-config", "generic", {"k": "one"})
    for value in ("two", "three"):
        row = services.secret_update(
            actor=personas.admin,
            organization=personas.org,
            secret_id=row.secret_id,
            values={"k": value},
        ).row
    return row


def html_of(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_versions_page_offers_rollback_to_members_and_destroy_to_admins(
    vault: VaultServer, personas: Personas
) -> None:
    row = with_versions(personas)
    url = page(personas, row, "versions/")
    member = html_of(signed_in(personas, "member"), url)
    assert member.count(">Roll back…<") == 2 and "Destroy" not in member
    assert "current" in member and "Vault keeps the last 10 versions" in member
    admin = html_of(signed_in(personas, "admin"), url)
    assert admin.count(">Destroy…<") == 2
    viewer = html_of(signed_in(personas, "viewer"), url)
    assert "Roll back" not in viewer and "v3" in viewer and "v1" in viewer
    assert 'href="' + url + '"' in html_of(signed_in(personas, "viewer"), page(personas, row))


def test_rolling_back_from_the_versions_page(vault: VaultServer, personas: Personas) -> None:
    row = with_versions(personas)
    client = signed_in(personas, "member")
    response = client.post(page(personas, row, "versions/1/rollback/"), {"current": "3"})
    assert response.status_code == 302 and response["Location"] == page(personas, row, "versions/")
    row.refresh_from_db()
    assert row.version == 4 and secret_values(row=row) == {"k": "one"}
    followed = html_of(client, page(personas, row, "versions/"))
    assert "Rolled app-config back to version 1: it is now version 4." in followed
    # A stale page (the secret moved on) is refused with a message, nothing written.
    stale = client.post(page(personas, row, "versions/2/rollback/"), {"current": "3"}, follow=True)
    assert "not 3; reload and retry" in stale.content.decode()
    row.refresh_from_db()
    assert row.version == 4
    htmx = client.post(page(personas, row, "versions/2/rollback/"), headers=HTMX)
    assert htmx["HX-Redirect"] == page(personas, row, "versions/")


def test_destroying_a_version_needs_the_admin_role(vault: VaultServer, personas: Personas) -> None:
    row = with_versions(personas)
    url = page(personas, row, "versions/1/destroy/")
    assert signed_in(personas, "member").post(url).status_code == 403
    assert signed_in(personas, "viewer").post(url).status_code == 403
    admin = signed_in(personas, "admin")
    assert admin.post(url).status_code == 302
    assert "destroyed" in html_of(admin, page(personas, row, "versions/"))
    assert AuditEvent.objects.filter(action="secret.version.destroy").count() == 1


def test_lifecycle_pages_answer_404_to_outsiders_and_403_to_viewers_for_changes(
    vault: VaultServer, personas: Personas
) -> None:
    row = make(personas, "db", "password", {"username": "u"})
    outsider = signed_in(personas, "outsider")
    for suffix in ("versions/",):
        assert outsider.get(page(personas, row, suffix)).status_code == 404
    for suffix in ("versions/1/rollback/", "rotation/", "rotate/"):
        assert outsider.post(page(personas, row, suffix)).status_code == 404
        assert signed_in(personas, "viewer").post(page(personas, row, suffix)).status_code == 403
    assert outsider.get(base(personas) + "expiring/").status_code == 404
    anonymous = Client().get(page(personas, row, "versions/"))
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]


def test_rotation_card_sets_and_removes_the_schedule(
    vault: VaultServer, personas: Personas
) -> None:
    row = make(personas, "db", "password", {"username": "u"})
    client = signed_in(personas, "member")
    detail = html_of(client, page(personas, row))
    assert 'id="rotation-every"' in detail and "Rotate now" in detail
    set_it = client.post(page(personas, row, "rotation/"), {"every": "7d"}, headers=HTMX)
    html = set_it.content.decode()
    assert set_it.status_code == 200 and "<html" not in html and "every 7d" in html
    assert SecretLifecycle.objects.get(secret=row).rotate_every == timedelta(days=7)
    bad = client.post(page(personas, row, "rotation/"), {"every": "weekly"}, headers=HTMX)
    assert bad.status_code == 200 and "30d" in bad.content.decode()
    assert 'aria-invalid="true"' in bad.content.decode()
    plain = client.post(page(personas, row, "rotation/"), {"every": "weekly"})
    assert plain.status_code == 400 and 'id="rotation-every_error"' in plain.content.decode()
    assert SecretLifecycle.objects.get(secret=row).rotate_every == timedelta(days=7)
    client.post(page(personas, row, "rotation/"), {"every": ""}, headers=HTMX)
    assert SecretLifecycle.objects.get(secret=row).rotate_every is None
    actions = list(
        AuditEvent.objects.filter(action="secret.rotation")
        .order_by("id")
        .values_list("detail", flat=True)
    )
    assert actions == [{"every": "7d"}, {"every": None}]
    generic = make(personas, "cfg", "generic", {"k": "v"})
    assert "rotation-every" not in html_of(client, page(personas, generic))
    viewer = html_of(signed_in(personas, "viewer"), page(personas, row))
    assert "Rotation" in viewer and "Rotate now" not in viewer


def test_rotate_now_shows_the_new_values_once(vault: VaultServer, personas: Personas) -> None:
    row = make(personas, "db", "password", {"username": "u"})
    before = secret_values(row=row)["password"]
    client = signed_in(personas, "member")
    response = client.post(page(personas, row, "rotate/"))
    assert response.status_code == 302
    assert response["Location"] == page(personas, row, "written/")
    html = html_of(client, response["Location"])
    row.refresh_from_db()
    after = secret_values(row=row)["password"]
    assert row.version == 2 and after != before
    assert after in html and "Rotated" in html
    again = client.get(response["Location"])
    assert again.status_code == 302 and after not in again.content.decode()
    generic = make(personas, "cfg", "generic", {"k": "v"})
    refused = client.post(page(personas, generic, "rotate/"), follow=True)
    assert "cannot be rotated here" in refused.content.decode()


def test_expiring_view_lists_certificates_inside_the_window(
    vault: VaultServer, personas: Personas
) -> None:
    make(personas, "short-tls", "tls", {"hosts": "localhost", "validity": "48h"})
    make(personas, "long-tls", "tls", {"hosts": "localhost", "validity": "8760h"})
    make(personas, "db", "password", {"username": "u"})
    html = html_of(signed_in(personas, "viewer"), base(personas) + "expiring/")
    assert "short-tls" in html and "long-tls" not in html and ">db<" not in html
    assert "renewed automatically from" in html
    assert 'href="' + base(personas) + 'expiring/"' in html_of(
        signed_in(personas, "viewer"), base(personas)
    )
