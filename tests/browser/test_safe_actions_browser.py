"""Safe actions and honest history in a real browser (items 1, 2 and 8 of the dashboard's
third pass): irreversible and production actions ask first on a page that says what they
reach; every result page is reached by a redirect, so reloading it repeats nothing (the
version count, the webhook deliveries and the audit rows stay as they were); the versions
say who changed what, with a diff and per-field reveal; the cluster page puts what is
installed first and shows an install's outcome at its top."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from audit.models import AuditEvent
from clusters import services as cluster_services
from clusters.models import Cluster, Installation
from notifications import services as notifications
from notifications.models import NotificationDelivery
from secrets_app import services
from secrets_app.models import SecretIndex
from tests.browser.conftest import Dashboard
from tests.conftest import Personas
from tests.helpers import secret_values
from tests.listener import Listener, http_answer
from tests.test_clusters import new_namespace
from tools.devstack.pytest_plugin import ControlPlane

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def webhook(settings: Any, personas: Personas) -> Iterator[Listener]:
    """A webhook target of the org (every event), answered by a receiver on 127.0.0.1."""
    settings.WEBHOOK_ALLOW_NETWORKS = ["127.0.0.1/32"]
    listener = Listener(http_answer("204 No Content"))
    notifications.target_create(
        actor=personas.admin,
        organization=personas.org,
        kind="webhook",
        name="ci",
        url=f"{listener.origin}/hook",
    )
    yield listener
    listener.close()


def state(row: SecretIndex | None = None) -> tuple[Any, ...]:
    """What a reload must leave alone (reads of values aside: showing is not changing)."""
    versions = SecretIndex.objects.filter(pk=row.pk if row is not None else 0)
    return (
        list(versions.values_list("version", flat=True)),
        SecretIndex.objects.count(),
        Installation.objects.count(),
        NotificationDelivery.objects.count(),
        AuditEvent.objects.exclude(action="secret.read").count(),
    )


def reload_changes_nothing(page: Page, row: SecretIndex | None = None) -> None:
    before = state(row)
    page.reload()
    page.wait_for_load_state("networkidle")
    assert state(row) == before


def password(personas: Personas, name: str = "payments-db") -> SecretIndex:
    return services.secret_create(
        actor=personas.admin,
        organization=personas.org,
        name=name,
        type="password",
        values={"username": "payments"},
    ).row


def test_rotate_asks_first_and_a_reload_of_its_result_rotates_nothing(
    dash: Dashboard, vault: object, personas: Personas, webhook: Listener
) -> None:
    """Item 1: "Rotate now" leads to a confirmation that counts what it reaches; the new
    values are shown once by the page the POST redirects to; reloading it shows the secret's
    page, with no second rotation, webhook delivery or audit row."""
    row = password(personas)
    dash.sign_in_as(personas.member)
    page = dash.goto(f"/orgs/{personas.org.pk}/secrets/{row.secret_id}/")
    page.get_by_role("link", name="Rotate now…").click()
    expect(page.locator("h1")).to_have_text("Rotate payments-db now?")
    expect(page.locator(".effect")).to_contain_text("notifies 1 notification target")
    assert SecretIndex.objects.get(pk=row.pk).version == 1  # the page asked, nothing more
    deliveries = NotificationDelivery.objects.count()  # the create's (every event)
    page.get_by_role("button", name="Rotate payments-db").click()
    expect(page.get_by_text("Copy the generated values")).to_be_visible()
    rotated = secret_values(row=SecretIndex.objects.get(pk=row.pk))["password"]
    expect(page.locator("pre.secret-text")).to_have_text(rotated)
    assert page.url.endswith("/written/")
    assert NotificationDelivery.objects.count() == deliveries + 1  # secret.rotated
    reload_changes_nothing(page, row)
    expect(page.get_by_text("were shown once")).to_be_visible()
    assert rotated not in page.content()
    assert SecretIndex.objects.get(pk=row.pk).version == 2


def test_create_then_reload_creates_nothing_more(
    dash: Dashboard, vault: object, personas: Personas
) -> None:
    """Item 1: the create result (generated values) is a redirected page; a reload of it
    neither writes again nor shows the values again."""
    dash.sign_in_as(personas.member)
    page = dash.goto(f"/orgs/{personas.org.pk}/secrets/new/?type=password")
    page.fill("#id_name", "fresh-db")
    page.fill("#id_v_username", "app")
    page.locator("form").get_by_role("button", name="Create").first.click()
    expect(page.get_by_text("Copy the generated values")).to_be_visible()
    row = SecretIndex.objects.get(name="fresh-db")
    assert secret_values(row=row)["password"] in page.content()
    reload_changes_nothing(page, row)
    assert secret_values(row=row)["password"] not in page.content()
    assert SecretIndex.objects.get(pk=row.pk).version == 1


def test_history_names_authors_diffs_and_rolls_back_from_a_preview(
    dash: Dashboard, vault: object, personas: Personas, webhook: Listener
) -> None:
    """Item 2: versions with author and kind; a version's diff of keys and tags with values
    masked and revealed one at a time (one audited read); rollback from a preview of the
    diff against the current version, and a reload of its result changes nothing."""
    row = services.secret_create(
        actor=personas.admin,
        organization=personas.org,
        name="app-config",
        type="generic",
        values={"HOST": "db.local", "TOKEN": "first-token"},
    ).row
    row = services.secret_update(
        actor=personas.member,
        organization=personas.org,
        secret_id=row.secret_id,
        values={"HOST": "db.local", "TOKEN": "second-token", "EXTRA": "1"},
        tags=["env:prod"],
    ).row
    dash.sign_in_as(personas.member)
    page = dash.goto(f"/orgs/{personas.org.pk}/secrets/{row.secret_id}/versions/")
    expect(page.locator("#version-1")).to_contain_text("create")
    expect(page.locator("#version-1 .version-author")).to_have_text("alice")
    expect(page.locator("#version-2")).to_contain_text("update")
    expect(page.locator("#version-2 .version-author")).to_have_text("mike")
    page.locator("#version-2").get_by_role("link", name="Changes in v2").click()
    expect(page.locator('[data-key="TOKEN"]')).to_contain_text("changed")
    expect(page.locator('[data-key="EXTRA"]')).to_contain_text("added")
    expect(page.locator('[data-key="HOST"]')).to_contain_text("unchanged")
    expect(page.locator(".diff-meta")).to_contain_text("added env:prod")
    assert "second-token" not in page.content()
    reads = AuditEvent.objects.filter(action="secret.read").count()
    page.locator('[data-key="TOKEN"]').get_by_role("button", name="Reveal TOKEN of v2").click()
    expect(page.locator('[data-key="TOKEN"] pre.secret-text')).to_have_text("second-token")
    assert AuditEvent.objects.filter(action="secret.read").count() == reads + 1
    dash.shoot("secret-version-diff", doc=True)

    page.get_by_role("link", name="Versions").click()
    page.locator("#version-1").get_by_role("link", name="Roll back… to v1").click()
    expect(page.locator("h1")).to_have_text("Roll app-config back to version 1?")
    expect(page.locator('[data-key="EXTRA"]')).to_contain_text("removed")
    expect(page.locator(".effect")).to_contain_text("notifies 1 notification target")
    assert SecretIndex.objects.get(pk=row.pk).version == 2
    page.get_by_role("button", name="Roll back to v1").click()
    expect(page.get_by_text("it is now version 3")).to_be_visible()
    assert secret_values(row=SecretIndex.objects.get(pk=row.pk))["TOKEN"] == "first-token"
    reload_changes_nothing(page, row)
    expect(page.locator("#version-3")).to_contain_text("rollback")


@pytest.fixture
def cluster(vault: object, personas: Personas, kube_control_plane: ControlPlane) -> Cluster:
    return cluster_services.cluster_create(
        actor=personas.admin,
        organization=personas.org,
        name="dev",
        kubeconfig=kube_control_plane.admin_kubeconfig(),
    )


def test_destroy_and_delete_of_an_installed_secret_ask_for_its_name(
    dash: Dashboard, personas: Personas, cluster: Cluster
) -> None:
    """Item 1: destroying a version of an installed secret needs its name typed on a page
    that says what is installed; so does deleting it; reloading either result changes
    nothing."""
    row = password(personas)
    row = services.secret_update(
        actor=personas.admin,
        organization=personas.org,
        secret_id=row.secret_id,
        values={"username": "payments", "password": "a-new-password-1"},
    ).row
    cluster_services.install(
        actor=personas.admin,
        cluster=cluster,
        namespace=new_namespace("safe"),
        query=cluster_services.InstallQuery(ids=[row.secret_id]),
    )
    dash.sign_in_as(personas.admin)
    page = dash.goto(f"/orgs/{personas.org.pk}/secrets/{row.secret_id}/versions/")
    page.locator("#version-1").get_by_role("link", name="Destroy… v1").click()
    expect(page.locator("h1")).to_have_text("Destroy version 1 of payments-db?")
    expect(page.locator(".danger-zone")).to_contain_text("1 copy")
    page.fill("#confirm-name", "payments")
    page.get_by_role("button", name="Destroy v1").click()
    expect(page.locator("#confirm-name_error")).to_contain_text("Type payments-db exactly")
    page.fill("#confirm-name", "payments-db")
    page.get_by_role("button", name="Destroy v1").click()
    expect(page.get_by_text("Destroyed version 1 of payments-db.")).to_be_visible()
    expect(page.locator("#version-1")).to_contain_text("destroyed")
    reload_changes_nothing(page, row)

    page = dash.goto(f"/orgs/{personas.org.pk}/secrets/{row.secret_id}/")
    page.get_by_role("link", name="Delete").click()
    expect(page.locator(".installed-copies")).to_contain_text("1 installed copy")
    page.fill("#id_confirm_name", "payments-db")
    page.get_by_role("button", name="Delete payments-db").click()
    expect(page.get_by_text("Deleted payments-db and all its versions.")).to_be_visible()
    reload_changes_nothing(page)
    assert not SecretIndex.objects.filter(name="payments-db").exists()


def test_cluster_page_lists_installed_first_and_shows_the_install_outcome_on_top(
    dash: Dashboard, personas: Personas, cluster: Cluster
) -> None:
    """Item 8 and item 1: "Installed secrets" comes before the install forms; a bulk install
    from the list lands on the cluster's page with its outcome as a message at the top;
    uninstalling asks first on its own page; reloading either result changes nothing."""
    rows = [password(personas, name) for name in ("svc-a", "svc-b")]
    namespace = new_namespace("safe")
    dash.sign_in_as(personas.member)
    page = dash.goto(f"/orgs/{personas.org.pk}/secrets/")
    for row in rows:
        page.locator(f'input[name="id"][value="{row.secret_id}"]').check()
    page.get_by_role("button", name="Install selected…").click()
    expect(page.locator("h1")).to_have_text("Install 2 secrets")
    page.select_option("#id_cluster", str(cluster.pk))
    page.fill("#id_namespace", namespace)
    page.get_by_role("button", name="Install 2 secrets").click()
    message = page.get_by_text(f"Installed 2 secrets into {namespace} on dev.")
    expect(message).to_be_visible()
    box = message.bounding_box()
    assert box is not None and box["y"] < 400  # at the top, no scrolling needed
    installed = page.locator("#installations-panel").bounding_box()
    form = page.locator("#install-h").bounding_box()
    assert installed is not None and form is not None and installed["y"] < form["y"]
    assert Installation.objects.count() == 2
    reload_changes_nothing(page)
    dash.shoot("cluster-installed-first", doc=True)

    page.locator("#installations-panel").get_by_role("link", name="Uninstall… svc-a").click()
    expect(page.locator("h1")).to_have_text(f"Uninstall svc-a from {namespace}?")
    expect(page.locator(".effect")).to_contain_text("1 installed copy in 1 cluster")
    assert Installation.objects.count() == 2
    page.get_by_role("button", name="Uninstall svc-a").click()
    expect(page.get_by_text(f"Removed svc-a from {namespace} on dev.")).to_be_visible()
    assert Installation.objects.count() == 1
    reload_changes_nothing(page)
    assert dash.fits_width()


def test_confirmation_pages_work_by_keyboard_at_a_phones_width(
    narrow: Dashboard, vault: object, personas: Personas
) -> None:
    """Item 1: the confirmation pages fit 390 px and are driven by the keyboard alone."""
    row = password(personas)
    narrow.sign_in_as(personas.member)
    page = narrow.goto(f"/orgs/{personas.org.pk}/secrets/{row.secret_id}/rotate/")
    expect(page.locator("h1")).to_have_text("Rotate payments-db now?")
    assert narrow.fits_width()
    button = page.get_by_role("button", name="Rotate payments-db")
    for _ in range(60):
        page.keyboard.press("Tab")
        if button.evaluate("b => b === document.activeElement"):
            break
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Copy the generated values")).to_be_visible()
    assert narrow.fits_width()
    assert SecretIndex.objects.get(pk=row.pk).version == 2
    page = narrow.goto(f"/orgs/{personas.org.pk}/secrets/{row.secret_id}/versions/1/rollback/")
    expect(page.locator("h1")).to_have_text("Roll payments-db back to version 1?")
    assert narrow.fits_width()
