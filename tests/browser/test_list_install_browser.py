"""The secrets list at scale, the install picker and the activity trail in a real browser,
against the real stack: the picker's preview matches what lands in the kube-apiserver,
bulk tag and bulk delete report each item and really change the data, activity filters
are bookmarkable and export the filtered trail without values, and all of it fits a phone.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Download, Page, expect

from clusters import services as cluster_services
from clusters.models import Cluster
from secrets_app import services
from secrets_app import values as secret_values
from secrets_app.models import SecretIndex
from tests.browser.conftest import TIMEOUT_MS, Dashboard
from tests.conftest import Personas, VaultServer, token_client
from tests.test_clusters import new_namespace, put_foreign_secret, read_secret
from tests.worker import run_worker
from tools.devstack.pytest_plugin import ControlPlane, KubeAPIError

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.vault]

# A value no page, result or export may ever show.
HIDDEN = "never-shown-7f3a9c"


def create(
    personas: Personas,
    name: str,
    kind: str,
    values: dict[str, str],
    tags: list[str],
    *,
    by: str = "admin",
) -> SecretIndex:
    return services.secret_create(
        actor=personas.user(by),
        organization=personas.org,
        name=name,
        type=kind,
        values=values,
        tags=tags,
    ).row


def register(personas: Personas, control_plane: ControlPlane) -> Cluster:
    """Cluster ``dev``; registering it keeps its kubeconfig as the ``dev-kubeconfig`` secret."""
    return cluster_services.cluster_create(
        actor=personas.admin,
        organization=personas.org,
        name="dev",
        kubeconfig=control_plane.admin_kubeconfig(),
    )


def list_path(personas: Personas) -> str:
    return f"/orgs/{personas.org.pk}/secrets/"


def cluster_path(personas: Personas, cluster: Cluster) -> str:
    return f"/orgs/{personas.org.pk}/clusters/{cluster.pk}/"


def activity_path(personas: Personas) -> str:
    return f"/orgs/{personas.org.pk}/activity/"


def preview(page: Page) -> dict[str, tuple[str, set[str]]]:
    """The preview's ticked rows: secret name -> (Kubernetes type, keys written)."""
    shown = {}
    rows = page.locator("#install-preview tr.preview-row")
    for index in range(rows.count()):
        row = rows.nth(index)
        if not row.locator("input[name=ids]").is_checked():
            continue
        name = row.get_attribute("data-secret") or ""
        kube_type = row.locator("code.kube-type").inner_text()
        shown[name] = (kube_type, set(row.locator("code.chip.key").all_inner_texts()))
    return shown


def api_secret(personas: Personas, row: SecretIndex) -> Any:
    return token_client(personas.admin).get(
        f"/api/v1/orgs/{personas.org.pk}/secrets/{row.secret_id}"
    )


def downloaded(download: Download) -> str:
    return Path(download.path()).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- install picker


def test_the_install_picker_previews_what_lands_in_the_cluster(
    dash: Dashboard, vault: VaultServer, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    for name, kind, values in [
        ("web-tls", "tls", {"hosts": "web.example.test"}),
        ("db-password", "password", {"username": "app"}),
        ("api-config", "generic", {"API_KEY": HIDDEN, "REGION": "eu"}),
        ("deploy-key", "ssh", {"user": "git", "identifier": "ci"}),
    ]:
        create(personas, name, kind, values, ["repo:pipeline"])
    other = create(personas, "other-api", "generic", {"API_KEY": "k-1"}, ["repo:other"])
    cluster = register(personas, kube_control_plane)
    earlier = new_namespace("earlier")
    cluster_services.install(
        actor=personas.admin,
        cluster=cluster,
        namespace=earlier,
        query=cluster_services.InstallQuery(ids=[other.secret_id]),
    )
    namespace = new_namespace("picker")
    put_foreign_secret(kube_control_plane, namespace, "db-password")

    dash.sign_in_as(personas.admin)
    page = dash.goto(cluster_path(personas, cluster))
    # The namespace box suggests the cluster's namespaces, the one just created among them.
    expect(page.locator(f"datalist#namespaces option[value='{earlier}']")).to_have_count(
        1, timeout=TIMEOUT_MS
    )
    rows = page.locator("#install-preview tr.preview-row")
    expect(page.locator("#install-preview")).to_contain_text("Choose a type, tags or a name")
    expect(rows).to_have_count(0)

    page.fill("#id_tags", "repo:pipeline")
    expect(rows).to_have_count(4)
    expect(page.locator("#install-preview")).not_to_contain_text("other-api")
    page.select_option("#id_type", "tls")
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-secret", "web-tls")
    expect(rows.locator("code.kube-type")).to_have_text("kubernetes.io/tls")
    page.select_option("#id_type", "")
    expect(rows).to_have_count(4)
    page.fill("#id_name", "deploy")
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-secret", "deploy-key")
    page.fill("#id_name", "")
    expect(rows).to_have_count(4)
    page.get_by_label("Install deploy-key", exact=True).uncheck()
    page.fill("#id_namespace", namespace)
    shown = preview(page)
    assert set(shown) == {"web-tls", "db-password", "api-config"}
    assert shown["api-config"] == ("Opaque", {"API_KEY", "REGION"})
    assert HIDDEN not in page.content()
    page.locator("#id_namespace").blur()
    dash.shoot("install-picker", doc=True)

    page.get_by_role("button", name="Install", exact=True).click()
    results = page.locator("#install-result tr.result-row")
    expect(results).to_have_count(3, timeout=TIMEOUT_MS)
    expect(results.filter(has_text="deploy-key")).to_have_count(0)
    for name in ("web-tls", "api-config"):
        expect(results.filter(has_text=name).locator(".badge.ok")).to_have_text("installed")
    # A Secret the product does not manage is in the way: the error names the form's
    # checkbox (not the API's parameter), and the failed item can be retried.
    conflict = results.filter(has_text="db-password")
    expect(conflict.locator(".badge.danger")).to_have_text("failed")
    expect(conflict.locator(".error-text")).to_contain_text(
        "Replace Secrets of the same name that this product does not manage"
    )
    expect(conflict).not_to_contain_text("overwrite=true")
    page.check("#retry-overwrite")
    page.get_by_role("button", name="Retry the 1 failed").click()
    expect(results).to_have_count(1, timeout=TIMEOUT_MS)
    expect(results.filter(has_text="db-password").locator(".badge.danger")).to_have_count(0)
    expect(page.locator("#installations-panel tr.installation")).to_have_count(4)

    for name, (kube_type, keys) in shown.items():
        landed = read_secret(kube_control_plane, namespace, name)
        assert landed["type"] == kube_type, name
        assert set(landed["data"]) == keys, name
    with pytest.raises(KubeAPIError) as unticked:
        read_secret(kube_control_plane, namespace, "deploy-key")
    assert unticked.value.status == 404


# --------------------------------------------------------------------------- the list, bulk


def test_bulk_tag_and_bulk_delete_from_the_list_report_each_secret(
    dash: Dashboard, vault: VaultServer, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    for name in ("api-a", "api-b", "api-c"):
        create(personas, name, "generic", {"API_KEY": HIDDEN}, ["repo:pipeline"])
    for name in ("old-a", "old-b"):
        create(personas, name, "generic", {"API_KEY": HIDDEN}, ["repo:legacy"])
    cluster = register(personas, kube_control_plane)
    kubeconfig = SecretIndex.objects.get(name="dev-kubeconfig")
    services.tag_add(
        actor=personas.admin,
        organization=personas.org,
        secret_id=kubeconfig.secret_id,
        tag="repo:legacy",
    )
    namespace = new_namespace("bulk")
    cluster_services.install(
        actor=personas.admin,
        cluster=cluster,
        namespace=namespace,
        query=cluster_services.InstallQuery(ids=[SecretIndex.objects.get(name="old-a").secret_id]),
    )

    dash.sign_in_as(personas.member)
    page = dash.goto(list_path(personas) + "?type=bogus")
    expect(page.locator("#filter-type-error")).to_contain_text("There is no type named")
    expect(page.locator("#filter-type")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#secret-results tbody tr")).to_have_count(0)

    page = dash.goto(list_path(personas))
    names = page.locator("#secret-results a.secret-link")
    expect(page.locator("#secret-results .total")).to_contain_text("6 secrets")
    page.locator("#secret-results th", has_text="Name").get_by_role("link").click()
    expect(page.locator("#secret-results th[aria-sort=descending]")).to_contain_text("Name")
    expect(names).to_have_text(["old-b", "old-a", "dev-kubeconfig", "api-c", "api-b", "api-a"])

    page.fill("#filter-q", "api")
    expect(page).to_have_url(re.compile(r"[?&]q=api"))
    expect(names).to_have_text(["api-c", "api-b", "api-a"])
    expect(page.locator("#secret-results .total")).to_contain_text("3 secrets")
    page.get_by_label("Select api-a", exact=True).check()
    page.get_by_label("Select api-b", exact=True).check()
    dash.shoot("secrets-bulk", doc=True)

    page.get_by_role("button", name="Tag selected…").click()
    expect(page.locator("#bulk-h")).to_have_text("Tag 2 secrets")
    expect(page.locator("table.bulk-selection tbody tr")).to_have_count(2)
    page.fill("#id_tag", "env:prod")
    page.get_by_role("button", name="Apply to 2 secrets").click()
    expect(page.locator("#bulk-done-h")).to_have_text("Tagged: 2 secrets, 0 failed")
    tagged = page.locator("table.bulk-results tr.result-row")
    expect(tagged).to_have_count(2)
    for name in ("api-a", "api-b"):
        expect(tagged.filter(has_text=name).locator(".badge")).to_have_text("tagged")
    assert HIDDEN not in page.content()
    for name, tags in [
        ("api-a", ["env:prod", "repo:pipeline"]),
        ("api-b", ["env:prod", "repo:pipeline"]),
        ("api-c", ["repo:pipeline"]),
    ]:
        row = SecretIndex.objects.get(name=name)
        assert row.tags == tags, name
        body = api_secret(personas, row).json()
        assert body["tags"] == tags and body["version"] == (2 if "env:prod" in tags else 1)

    # Back to the list as it was: the same search and order, no tag filter added.
    page.get_by_role("link", name="Back to the list").click()
    expect(page).to_have_url(re.compile(r"\?q=api&sort=-name$"))
    expect(names).to_have_text(["api-c", "api-b", "api-a"])
    expect(page.locator("#secret-results tr", has_text="api-a").locator(".chip")).to_have_text(
        ["env:prod", "repo:pipeline"]
    )

    # The search covers tags: "legacy" finds the secrets tagged repo:legacy.
    page.fill("#filter-q", "legacy")
    expect(names).to_have_text(["old-b", "old-a", "dev-kubeconfig"])
    page.get_by_role("link", name="Select all on this page").click()
    expect(page.locator("#secret-results input[name=id]:checked")).to_have_count(3)
    page.get_by_role("button", name="Delete selected…").click()
    expect(page.locator("#bulk-h")).to_have_text("Delete 3 secrets?")
    expect(page.locator("table.bulk-selection tr", has_text="old-a")).to_contain_text(
        f"dev/{namespace}/old-a"
    )
    page.fill("#id_count", "2")
    page.get_by_role("button", name="Delete 3 secrets").click()
    expect(page.locator("#id_count_error")).to_contain_text("Type 3, the number of secrets")
    assert SecretIndex.objects.filter(name__in=["old-a", "old-b"]).count() == 2
    page.fill("#id_count", "3")
    page.get_by_role("button", name="Delete 3 secrets").click()
    expect(page.locator("#bulk-done-h")).to_have_text(
        "Deleted: 3 secrets, 1 failed", timeout=TIMEOUT_MS
    )
    expect(page.locator(".bulk-result .flash.error")).to_contain_text("1 of 3 did not go through")
    deleted = page.locator("table.bulk-results tr.result-row")
    for name in ("old-a", "old-b"):
        expect(deleted.filter(has_text=name).locator(".badge")).to_have_text("deleted")
    refused = deleted.filter(has_text="dev-kubeconfig")
    expect(refused.locator(".badge")).to_have_text("failed")
    expect(refused.locator(".error-text")).to_contain_text("admin role")

    assert set(SecretIndex.objects.values_list("name", flat=True)) == {
        "api-a",
        "api-b",
        "api-c",
        "dev-kubeconfig",
    }
    assert api_secret(personas, kubeconfig).status_code == 200
    # The delete queued the removal of the installed copy: the worker removes it.
    assert run_worker() == 1
    with pytest.raises(KubeAPIError) as gone:  # the installed copy went with its secret
        read_secret(kube_control_plane, namespace, "old-a")
    assert gone.value.status == 404


# --------------------------------------------------------------------------- activity


def test_activity_filters_are_bookmarkable_and_export_the_filtered_trail(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    create(personas, "payments-db", "password", {"username": "app"}, ["env:prod"])
    web = create(personas, "web-api", "generic", {"TOKEN": HIDDEN}, ["env:prod"], by="member")
    create(personas, "web-cache", "generic", {"URL": "redis://cache"}, [], by="member")
    secret_values.reveal(standing=personas.member, row=web, purpose="show", fields=["TOKEN"])
    services.tag_add(
        actor=personas.admin, organization=personas.org, secret_id=web.secret_id, tag="team:web"
    )
    today = timezone.localdate()

    dash.sign_in_as(personas.admin)
    page = dash.goto(activity_path(personas))
    table = page.locator("#activity-panel table.activity-table tbody tr")
    expect(table.filter(has_text="payments-db")).not_to_have_count(0)
    page.select_option("#id_kind", label="Secrets")
    expect(page).to_have_url(re.compile(r"[?&]kind=secret\."))
    page.select_option("#id_actor", "mike")
    expect(page).to_have_url(re.compile(r"[?&]actor=mike"))
    page.fill("#id_target", "web-api")
    expect(page).to_have_url(re.compile(r"[?&]target=web-api"))
    # Leaving the box commits it (a change event): one more request, awaited like a user
    # would, so that it is not replaced mid-flight by the next filter's.
    with page.expect_response(lambda r: "target=web-api" in r.url):
        page.locator("#id_target").press("Tab")
    page.fill("#id_since", today.isoformat())
    expect(page).to_have_url(re.compile(rf"[?&]since={today.isoformat()}"))
    page.fill("#id_until", today.isoformat())
    expect(page).to_have_url(re.compile(rf"[?&]until={today.isoformat()}"))
    expect(table).to_have_count(2)
    expect(table.locator("code")).to_have_text(["secret.read", "secret.create"])
    read = table.filter(has_text="secret.read")
    expect(read.locator(".chip.detail", has_text="fields")).to_have_text("fields: TOKEN")
    expect(read.get_by_role("link", name="web-api")).to_have_attribute(
        "href", f"/orgs/{personas.org.pk}/secrets/{web.secret_id}/"
    )
    page.locator("#id_until").blur()
    dash.shoot("activity", doc=True)

    # The URL is the bookmark: opened afresh, it shows the same filters and rows.
    bookmark = page.url
    page = dash.goto("/")
    page.goto(bookmark)
    expect(page.locator("#id_kind")).to_have_value("secret.")
    expect(page.locator("#id_actor")).to_have_value("mike")
    expect(page.locator("#id_target")).to_have_value("web-api")
    expect(page.locator("#id_since")).to_have_value(today.isoformat())
    expect(table).to_have_count(2)

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Export CSV").click()
    assert csv_download.value.suggested_filename.endswith(".csv")
    text = downloaded(csv_download.value)
    records = list(csv.DictReader(io.StringIO(text)))
    assert [(r["actor"], r["action"], r["targetName"]) for r in records] == [
        ("mike", "secret.read", "web-api"),
        ("mike", "secret.create", "web-api"),
    ]
    assert "fields: TOKEN" in records[0]["detail"]
    assert HIDDEN not in text

    with page.expect_download() as json_download:
        page.get_by_role("link", name="Export JSON").click()
    assert json_download.value.suggested_filename.endswith(".json")
    text = downloaded(json_download.value)
    exported = json.loads(text)
    assert [(e["actor"], e["action"], e["targetId"]) for e in exported] == [
        ("mike", "secret.read", web.secret_id),
        ("mike", "secret.create", web.secret_id),
    ]
    assert exported[0]["detail"]["fields"] == ["TOKEN"]
    assert HIDDEN not in text

    # A date range that ends before it starts is an error on the page, not a silent no-op.
    page.fill("#id_until", (today - timedelta(days=1)).isoformat())
    expect(page.locator("#activity-panel .flash.error")).to_contain_text(
        "The end date comes before the start date"
    )


# --------------------------------------------------------------------------- a phone


def test_the_list_picker_and_activity_fit_a_phone(
    narrow: Dashboard, vault: VaultServer, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    for name, kind, values in [
        ("payments-service-ingress-certificate", "tls", {"hosts": "payments.example.test"}),
        ("payments-database-primary-password", "password", {"username": "payments"}),
        ("payments-config", "generic", {"PAYMENTS_PROVIDER_API_KEY": HIDDEN}),
    ]:
        create(personas, name, kind, values, ["repo:payments-platform", "env:production"])
    cluster = register(personas, kube_control_plane)
    narrow.sign_in_as(personas.admin)

    page = narrow.goto(list_path(personas))
    expect(page.locator("#secret-results .total")).to_contain_text("4 secrets")
    page.get_by_label("Select payments-config", exact=True).check()
    assert narrow.fits_width()
    page.get_by_role("button", name="Tag selected…").click()
    expect(page.locator("#bulk-h")).to_have_text("Tag 1 secret")
    assert narrow.fits_width()

    page = narrow.goto(cluster_path(personas, cluster))
    page.fill("#id_tags", "repo:payments-platform")
    expect(page.locator("#install-preview tr.preview-row")).to_have_count(3)
    page.locator("#install-preview").scroll_into_view_if_needed()
    assert narrow.fits_width()
    narrow.shoot("install-picker-390")

    page = narrow.goto(activity_path(personas))
    expect(page.locator("#activity-panel tbody tr")).not_to_have_count(0)
    assert narrow.fits_width()
    narrow.shoot("activity-390")
