"""A secret's history (item 2 of the dashboard's third pass): author, time and kind of each
version, the diff of keys and tags a version made, values masked and revealed one field at a
time (an audited read), rollback from a preview of the diff against the current version,
and the confirmation pages of the irreversible and production actions (item 1)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from audit.models import AuditEvent
from clusters import services as cluster_services
from clusters.models import Cluster
from notifications import services as notifications
from secrets_app import history, lifecycle, services
from secrets_app.models import SecretIndex
from tests.conftest import Personas, VaultServer
from tests.helpers import secret_values
from tests.test_clusters import new_namespace
from tests.test_dashboard import signed_in
from tests.test_governance_changes import changes_url, held  # noqa: F401 (a fixture)
from tools.devstack.pytest_plugin import ControlPlane

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def page(personas: Personas, row: SecretIndex, suffix: str = "") -> str:
    return f"/orgs/{personas.org.pk}/secrets/{row.secret_id}/{suffix}"


def with_history(personas: Personas) -> SecretIndex:
    """v1 created by alice, v2 updated by mike (a key changed, one added, one removed, a tag
    added), v3 rotated... for a password: here a generic secret, v3 a tag removal."""
    row = services.secret_create(
        actor=personas.admin,
        organization=personas.org,
        name="app-config",
        type="generic",
        values={"HOST": "db.local", "TOKEN": "first-token", "OLD": "x"},
        tags=["team:core"],
    ).row
    row = services.secret_update(
        actor=personas.member,
        organization=personas.org,
        secret_id=row.secret_id,
        values={"HOST": "db.local", "TOKEN": "second-token", "NEW": "y"},
        tags=["team:core", "env:prod"],
    ).row
    return services.tag_remove(
        actor=personas.admin, organization=personas.org, secret_id=row.secret_id, tag="team:core"
    )


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_versions_page_names_author_and_kind_of_each_version(
    vault: VaultServer, personas: Personas
) -> None:
    """Item 2: the Versions page shows who made each version and what kind of change."""
    row = with_history(personas)
    html = signed_in(personas, "viewer").get(page(personas, row, "versions/")).content.decode()
    rows = re.findall(r'<tr id="version-(\d+)" class="version-row">(.*?)</tr>', html, re.S)
    seen = {int(n): text(body) for n, body in rows}
    assert " create " in seen[1] and " alice " in seen[1]
    assert " update " in seen[2] and " mike " in seen[2]
    assert " tags " in seen[3] and " alice " in seen[3] and " current " in seen[3]


def test_history_of_rotation_rollback_and_approval_kinds(
    vault: VaultServer, personas: Personas
) -> None:
    """Item 2: rotate and rollback versions are named as such, a rollback with its source."""
    row = services.secret_create(
        actor=personas.admin,
        organization=personas.org,
        name="db",
        type="password",
        values={"username": "u"},
    ).row
    lifecycle.secret_rotate(
        actor=personas.member, organization=personas.org, secret_id=row.secret_id
    )
    lifecycle.secret_rollback(
        actor=personas.admin, organization=personas.org, secret_id=row.secret_id, version=1
    )
    row.refresh_from_db()
    entries = {e.version: e for e in history.history(row=row)}
    assert (entries[1].kind, entries[1].author) == ("create", "alice")
    assert (entries[2].kind, entries[2].author) == ("rotate", "mike")
    assert (entries[3].kind, entries[3].source, entries[3].label) == ("rollback", 1, "rollback")


def test_an_approved_change_is_named_an_approval_with_its_requester(
    held: tuple[str, dict[str, Any]],  # noqa: F811 (the fixture)
    personas: Personas,
    clients: dict[str, Any],
) -> None:
    """Item 2: a version written by applying an approved change request says so."""
    secret_id, request = held
    approved = clients["admin"].post(changes_url(personas.org.pk, f"/{request['id']}/approve"))
    assert approved.status_code == 200, approved.content
    row = SecretIndex.objects.get(secret_id=secret_id)
    entry = history.entry_of(row=row, version=2)
    assert entry.change_request == request["id"] and entry.requested_by == "mike"
    assert entry.kind == "update" and entry.label == "approval (update)"
    html = signed_in(personas, "viewer").get(page(personas, row, "versions/")).content.decode()
    assert "approval (update)" in html and f"request #{request['id']} by mike" in html


def test_a_version_page_diffs_keys_and_tags_without_showing_values(
    vault: VaultServer, personas: Personas
) -> None:
    """Item 2: per-version diff of keys (added, removed, changed, unchanged) and tags; the
    values stay masked and opening the page reads nothing on the viewer's behalf."""
    row = with_history(personas)
    reads = AuditEvent.objects.filter(action="secret.read").count()
    client = signed_in(personas, "member")
    html = client.get(page(personas, row, "versions/2/")).content.decode()
    states = dict(re.findall(r'class="diff-row diff-(\w+)" data-key="(\w+)"', html))
    assert {v: k for k, v in states.items()} == {
        "HOST": "unchanged",
        "TOKEN": "changed",
        "NEW": "added",
        "OLD": "removed",
    }
    assert "added env:prod" in html and "Changes from v1" in html
    assert "1 added, 1 removed, 1 changed, 1 unchanged" in html
    for value in ("db.local", "first-token", "second-token", "y"):
        assert f">{value}<" not in html
    assert AuditEvent.objects.filter(action="secret.read").count() == reads
    # The tag-only version changed no key.
    tags_only = client.get(page(personas, row, "versions/3/")).content.decode()
    assert (
        "0 added, 0 removed, 0 changed, 3 unchanged" in tags_only
        and "removed team:core" in tags_only
    )


def test_revealing_a_field_of_an_old_version_is_one_audited_read(
    vault: VaultServer, personas: Personas
) -> None:
    """Item 2: per-field reveal in the history is an audited secret.read naming the version
    and the field; a viewer cannot reveal."""
    row = with_history(personas)
    client = signed_in(personas, "member")
    url = page(personas, row, "versions/1/values/TOKEN/")
    response = client.post(url, headers=HTMX)
    fragment = response.content.decode()
    assert response.status_code == 200 and "<html" not in fragment
    assert ">first-token<" in fragment and "no-store" in response["Cache-Control"]
    read = AuditEvent.objects.get(action="secret.read")
    assert read.actor == "mike" and read.detail["version"] == 1
    assert read.detail["fields"] == ["TOKEN"] and read.detail["purpose"] == "history"
    full = client.post(url).content.decode()
    assert "<html" in full and ">first-token<" in full and ">db.local<" not in full
    assert signed_in(personas, "viewer").post(url).status_code == 403
    assert client.post(page(personas, row, "versions/1/values/NOPE/")).status_code == 404


def test_rollback_is_previewed_then_done_by_the_post(
    vault: VaultServer, personas: Personas
) -> None:
    """Item 2 and item 1: rollback shows the diff against the current version and what it
    reaches; only the POST writes, and it redirects."""
    row = with_history(personas)
    notifications.target_create(
        actor=personas.admin,
        organization=personas.org,
        kind="email",
        name="ops",
        emails=["ops@example.org"],
    )
    client = signed_in(personas, "member")
    preview = client.get(page(personas, row, "versions/1/rollback/"))
    html = preview.content.decode()
    assert preview.status_code == 200 and "Roll app-config back to version 1?" in html
    states = dict(re.findall(r'class="diff-row diff-(\w+)" data-key="(\w+)"', html))
    assert {v: k for k, v in states.items()} == {
        "HOST": "unchanged",
        "TOKEN": "changed",
        "NEW": "removed",
        "OLD": "added",
    }
    assert "No copy of it is installed" in html and "1 notification target" in html
    assert "first-token" not in html
    row.refresh_from_db()
    assert row.version == 3  # the preview wrote nothing
    done = client.post(page(personas, row, "versions/1/rollback/"), {"current": "3"})
    assert done.status_code == 302 and done["Location"] == page(personas, row, "versions/")
    row.refresh_from_db()
    assert row.version == 4 and secret_values(row=row)["TOKEN"] == "first-token"
    assert client.get(page(personas, row, "versions/4/rollback/")).status_code == 200
    assert "is the current version" in (
        client.get(page(personas, row, "versions/4/rollback/")).content.decode()
    )
    assert client.get(page(personas, row, "versions/9/rollback/")).status_code == 404


def test_rotate_now_asks_first_and_says_what_it_reaches(
    vault: VaultServer, personas: Personas
) -> None:
    """Item 1: "Rotate now" is a link to a confirmation page; the page changes nothing."""
    row = services.secret_create(
        actor=personas.admin,
        organization=personas.org,
        name="db",
        type="password",
        values={"username": "u"},
    ).row
    client = signed_in(personas, "member")
    detail = client.get(page(personas, row)).content.decode()
    assert f'href="{page(personas, row, "rotate/")}"' in detail
    assert f'action="{page(personas, row, "rotate/")}"' not in detail
    confirm = client.get(page(personas, row, "rotate/")).content.decode()
    assert "Rotate db now?" in confirm and "version 2" in confirm
    assert "No copy of it is installed in a cluster" in confirm
    row.refresh_from_db()
    assert row.version == 1
    assert signed_in(personas, "viewer").get(page(personas, row, "rotate/")).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_destroying_a_version_of_an_installed_secret_needs_its_name_typed(
    vault: VaultServer, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    """Item 1: destroy is confirmed on its own page, which counts the installed copies, and
    with copies installed the secret's name must be typed."""
    row = with_history(personas)
    cluster: Cluster = cluster_services.cluster_create(
        actor=personas.admin,
        organization=personas.org,
        name="dev",
        kubeconfig=kube_control_plane.admin_kubeconfig(),
    )
    cluster_services.install(
        actor=personas.admin,
        cluster=cluster,
        namespace=new_namespace("hist"),
        query=cluster_services.InstallQuery(ids=[row.secret_id]),
    )
    client = signed_in(personas, "admin")
    versions = client.get(page(personas, row, "versions/")).content.decode()
    url = page(personas, row, "versions/1/destroy/")
    assert f'href="{url}"' in versions and f'action="{url}"' not in versions
    confirm = client.get(url).content.decode()
    assert "Destroy version 1 of app-config?" in confirm and "1 copy" in confirm
    assert 'name="confirm_name"' in confirm
    wrong = client.post(url, {"confirm_name": "app-confi"})
    assert wrong.status_code == 400 and "Type app-config exactly" in wrong.content.decode()
    assert not AuditEvent.objects.filter(action="secret.version.destroy").exists()
    done = client.post(url, {"confirm_name": "app-config"})
    assert done.status_code == 302
    assert AuditEvent.objects.filter(action="secret.version.destroy").count() == 1
    after = client.get(page(personas, row, "versions/")).content.decode()
    assert 'id="version-1"' in after and "destroyed" in after
    assert signed_in(personas, "member").get(url).status_code == 403
