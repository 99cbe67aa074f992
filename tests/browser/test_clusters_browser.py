"""Clusters in a real browser, against a real kube-apiserver: register, install, uninstall."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from clusters import services as cluster_services
from clusters.models import Cluster
from secrets_app import services
from tests.browser.conftest import Dashboard
from tests.conftest import Personas, VaultServer
from tests.test_clusters import new_namespace, read_secret
from tools.devstack.pytest_plugin import ControlPlane, KubeAPIError

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.vault]


def seed(personas: Personas) -> None:
    """A certificate and a password for the pipeline, and one secret of another repo."""
    for name, kind, values, tags in [
        ("web-tls", "tls", {"hosts": "web.example.test"}, ["repo:pipeline"]),
        ("db-password", "password", {"username": "app"}, ["repo:pipeline"]),
        ("other-api", "generic", {"API_KEY": "k-1"}, ["repo:other"]),
    ]:
        services.secret_create(
            actor=personas.admin,
            organization=personas.org,
            name=name,
            type=kind,
            values=values,
            tags=tags,
        )


def clusters_path(personas: Personas) -> str:
    return f"/orgs/{personas.org.pk}/clusters/"


def test_register_install_and_uninstall(
    dash: Dashboard, vault: VaultServer, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    seed(personas)
    dash.sign_in_as(personas.admin)
    page = dash.goto(f"/orgs/{personas.org.pk}/secrets/")
    page.locator("nav.tabs").get_by_role("link", name="Clusters").click()
    expect(page.locator(".empty-state")).not_to_contain_text("make kube-up")
    page.click("text=Register your first cluster")
    page.fill("#id_name", "dev")
    page.fill("#id_kubeconfig", kube_control_plane.admin_kubeconfig())
    page.click("button:has-text('Register cluster')")
    expect(page.locator(".flash.success")).to_contain_text("Registered dev: it answers")
    cluster = Cluster.objects.get(name="dev")
    expect(page).to_have_url(re.compile(rf"/clusters/{cluster.pk}/$"))

    page.locator("nav.tabs").get_by_role("link", name="Clusters").click()
    row = page.locator("tr.cluster-row", has_text="dev")
    expect(row.locator(".badge.ok")).to_have_text("reachable")
    expect(row).to_contain_text(cluster.server_version)
    page.evaluate("window.stillHere = true")
    row.get_by_role("button", name="Check now").click()
    expect(page.locator("tr.cluster-row", has_text="dev")).to_contain_text("just now")
    expect(row.get_by_role("button", name="Check now")).to_be_enabled()
    page.mouse.move(0, 0)
    assert page.evaluate("window.stillHere") is True
    dash.shoot("clusters", doc=True)

    page.click("a.secret-link:has-text('dev')")
    page.evaluate("window.stillHere = true")
    namespace = new_namespace("browser")
    page.fill("#id_namespace", namespace)
    page.fill("#id_tags", "repo:pipeline")
    install = page.get_by_role("button", name="Install", exact=True)
    install.click()
    results = page.locator("#install-result tr.result-row")
    expect(results).to_have_count(2)
    expect(install).to_be_enabled()
    expect(page.locator("#install-progress")).to_have_css("opacity", "0")
    for name, sourcing in (("db-password", "env"), ("web-tls", "volume")):
        result = results.filter(has_text=name)
        expect(result.locator(".badge.sourcing")).to_have_text(sourcing)
        expect(result.locator(".badge.ok")).to_have_text("installed")
    installed = page.locator("#installations-panel tr.installation")
    expect(installed).to_have_count(2)
    assert page.evaluate("window.stillHere") is True
    dash.shoot("install-result", doc=True)

    tls = read_secret(kube_control_plane, namespace, "web-tls")
    assert tls["type"] == "kubernetes.io/tls" and {"tls.crt", "tls.key"} <= set(tls["data"])
    db = read_secret(kube_control_plane, namespace, "db-password")
    assert db["type"] == "kubernetes.io/basic-auth"

    # Uninstalling asks first, on its own page, then comes back with a message.
    page.get_by_role("link", name=f"Uninstall… db-password from {namespace}").click()
    expect(page.locator("h1")).to_have_text(f"Uninstall db-password from {namespace}?")
    page.get_by_role("button", name="Uninstall db-password").click()
    expect(page.get_by_text(f"Removed db-password from {namespace}")).to_be_visible()
    expect(installed).to_have_count(1)
    expect(installed).to_contain_text("web-tls")
    with pytest.raises(KubeAPIError) as gone:
        read_secret(kube_control_plane, namespace, "db-password")
    assert gone.value.status == 404
    assert read_secret(kube_control_plane, namespace, "web-tls")["type"] == "kubernetes.io/tls"


def test_a_viewer_sees_installations_but_no_controls(
    dash: Dashboard, vault: VaultServer, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    seed(personas)
    cluster = cluster_services.cluster_create(
        actor=personas.admin,
        organization=personas.org,
        name="dev",
        kubeconfig=kube_control_plane.admin_kubeconfig(),
    )
    namespace = new_namespace("browser")
    cluster_services.install(
        actor=personas.admin,
        cluster=cluster,
        namespace=namespace,
        query=cluster_services.InstallQuery(tags=["repo:pipeline"]),
    )
    dash.sign_in_as(personas.viewer)
    page = dash.goto(clusters_path(personas))
    expect(page.get_by_text("Register a cluster")).to_have_count(0)
    page.click("a.secret-link:has-text('dev')")
    expect(page.locator(".notice")).to_contain_text("member role")
    expect(page.locator("#installations-panel tr.installation")).to_have_count(2)
    for name in ("Install", "Uninstall", "Delete cluster"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    page.click("#installations-panel a:has-text('web-tls')")
    section = page.locator("section", has=page.locator("#installed-h"))
    expect(section).to_contain_text(namespace)
    expect(section.locator(".badge.ok", has_text="current")).to_be_visible()
