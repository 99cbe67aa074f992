"""The install picker of a cluster's page and the install panel of a secret's page: the
preview matches what lands in the real kube-apiserver, namespaces are suggested, errors
point at the form's controls, failures can be retried, nothing is created for nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from clusters.models import Cluster, Installation
from tests.conftest import Personas
from tests.test_clusters import decoded, new_namespace, read_secret
from tests.test_dashboard import LOGIN, signed_in
from tests.test_dashboard_clusters import (  # noqa: F401
    HTMX,
    cluster,
    dead_cluster,
    make_secret,
    page,
    seed,
)
from tools.devstack.pytest_plugin import ControlPlane, KubeAPIError

pytestmark = pytest.mark.django_db


def preview(client: Client, personas: Personas, cluster: Cluster, **query: str) -> str:  # noqa: F811
    response = client.get(page(personas, cluster, "install/preview/"), query, headers=HTMX)
    assert response.status_code == 200
    return response.content.decode()


def test_preview_and_namespaces_by_persona(cluster: Cluster, personas: Personas) -> None:  # noqa: F811
    for suffix in ("install/preview/?type=tls", "namespaces/"):
        target = page(personas, cluster, suffix)
        for persona in ("admin", "member"):
            assert signed_in(personas, persona).get(target).status_code == 200
        assert signed_in(personas, "viewer").get(target).status_code == 403
        assert signed_in(personas, "outsider").get(target).status_code == 404
        anonymous = Client().get(target)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith(LOGIN)


def test_the_preview_shows_keys_and_kubernetes_type_that_land_in_the_cluster(
    cluster: Cluster,  # noqa: F811
    personas: Personas,
    kube_control_plane: ControlPlane,
) -> None:
    seed(personas)
    client = signed_in(personas, "member")
    html = preview(client, personas, cluster, tags="repo:pipeline")
    assert html.count('class="preview-row"') == 2 and "other" not in html
    tls = html.split('data-secret="web-tls"')[1].split("</tr>")[0]
    assert '<code class="kube-type">kubernetes.io/tls</code>' in tls
    shown_keys = {part.split("<")[0] for part in tls.split('class="chip key">')[1:]}
    assert {"tls.crt", "tls.key", "ca.crt"} <= shown_keys
    namespace = new_namespace("picker")
    response = client.post(
        page(personas, cluster, "install/"),
        {"namespace": namespace, "tags": "repo:pipeline"},
        headers=HTMX,
    )
    assert response.status_code == 200
    landed = read_secret(kube_control_plane, namespace, "web-tls")
    assert landed["type"] == "kubernetes.io/tls"
    assert set(landed["data"]) == shown_keys
    db = html.split('data-secret="db"')[1].split("</tr>")[0]
    db_keys = {part.split("<")[0] for part in db.split('class="chip key">')[1:]}
    assert set(read_secret(kube_control_plane, namespace, "db")["data"]) == db_keys
    assert db_keys  # the key names come from the index; no value is in the preview


def test_the_preview_filters_by_name_and_type_and_untick_narrows_the_install(
    cluster: Cluster,  # noqa: F811
    personas: Personas,
    kube_control_plane: ControlPlane,
) -> None:
    seed(personas)
    client = signed_in(personas, "member")
    assert preview(client, personas, cluster, name="TLS").count('class="preview-row"') == 1
    assert preview(client, personas, cluster, type="generic").count('class="preview-row"') == 1
    assert "No secret of org-a matches" in preview(client, personas, cluster, name="nothing")
    assert "There is no type named" in preview(client, personas, cluster, type="bogus")
    db = next(r for r in cluster.organization.secrets.all() if r.name == "db")
    namespace = new_namespace("untick")
    client.post(
        page(personas, cluster, "install/"),
        {"namespace": namespace, "tags": "repo:pipeline", "picked": "on", "ids": [db.secret_id]},
        headers=HTMX,
    )
    assert set(Installation.objects.values_list("kube_name", flat=True)) == {"db"}
    nothing = client.post(
        page(personas, cluster, "install/"),
        {"namespace": namespace, "tags": "repo:pipeline", "picked": "on"},
        headers=HTMX,
    )
    assert "Tick at least one" in nothing.content.decode()


def test_nothing_matching_creates_no_namespace(
    cluster: Cluster,  # noqa: F811
    personas: Personas,
    kube_control_plane: ControlPlane,
) -> None:
    seed(personas)
    namespace = new_namespace("empty")
    response = signed_in(personas, "member").post(
        page(personas, cluster, "install/"),
        {"namespace": namespace, "name": "no-such-secret"},
        headers=HTMX,
    )
    assert "nothing was created" in response.content.decode()
    with pytest.raises(KubeAPIError) as missing:
        kube_control_plane.request("GET", f"/api/v1/namespaces/{namespace}")
    assert missing.value.status == 404


def test_namespaces_are_suggested_from_the_cluster(
    cluster: Cluster,  # noqa: F811
    personas: Personas,
    kube_control_plane: ControlPlane,
) -> None:
    namespace = new_namespace("suggest")
    kube_control_plane.ensure_namespace(namespace)
    html = signed_in(personas, "member").get(page(personas, cluster, "namespaces/"))
    text = html.content.decode()
    assert text.startswith('<datalist id="namespaces">')
    assert f'<option value="{namespace}">' in text and '<option value="default">' in text


def test_namespaces_of_an_unreachable_cluster_are_an_empty_list(
    dead_cluster: Cluster,  # noqa: F811
    personas: Personas,
) -> None:
    response = signed_in(personas, "member").get(page(personas, dead_cluster, "namespaces/"))
    assert response.status_code == 200
    assert response.content.decode().strip() == '<datalist id="namespaces"></datalist>'


def test_a_conflict_names_the_checkbox_and_can_be_retried(
    cluster: Cluster,  # noqa: F811
    personas: Personas,
    kube_control_plane: ControlPlane,
) -> None:
    seed(personas)
    namespace = new_namespace("conflict")
    kube_control_plane.ensure_namespace(namespace)
    kube_control_plane.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/secrets",
        {"metadata": {"name": "db"}, "stringData": {"x": "theirs"}},
    )
    admin = signed_in(personas, "admin")
    first = admin.post(
        page(personas, cluster, "install/"),
        {"namespace": namespace, "tags": "repo:pipeline"},
        headers=HTMX,
    ).content.decode()
    assert "overwrite=true" not in first
    assert "tick \u201cReplace Secrets of the same name" in first
    assert "Retry the 1 failed" in first
    db = cluster.organization.secrets.get(name="db")
    retry = admin.post(
        page(personas, cluster, "install/"),
        {"namespace": namespace, "picked": "on", "ids": [db.secret_id], "overwrite": "on"},
        headers=HTMX,
    ).content.decode()
    assert retry.count('class="result-row"') == 1 and ">updated<" in retry
    assert "Retry" not in retry
    assert "password" in decoded(read_secret(kube_control_plane, namespace, "db"))


def test_install_and_uninstall_from_the_secret_page(
    cluster: Cluster,  # noqa: F811
    personas: Personas,
    kube_control_plane: ControlPlane,
) -> None:
    row = make_secret(personas, "api", "generic", {"API_KEY": "k-1"})
    base = f"/orgs/{personas.org.pk}/clusters/installations/{row.secret_id}/"
    viewer = signed_in(personas, "viewer").get(base, headers=HTMX).content.decode()
    assert 'id="secret-installations"' in viewer and "Install api" not in viewer
    for persona in ("viewer",):
        denied = signed_in(personas, persona).post(base + "install/", {})
        assert denied.status_code == 403
    assert signed_in(personas, "outsider").post(base + "install/", {}).status_code == 404
    member = signed_in(personas, "member")
    panel = member.get(base, headers=HTMX).content.decode()
    assert f'<option value="{cluster.pk}">dev</option>' in panel and "Install api" in panel
    bad = member.post(
        base + "install/", {"inst-cluster": cluster.pk, "inst-namespace": "Bad_NS"}, headers=HTMX
    ).content.decode()
    assert 'id="id_inst-namespace_error"><p class="error">' in bad
    namespace = new_namespace("page")
    done = member.post(
        base + "install/", {"inst-cluster": cluster.pk, "inst-namespace": namespace}, headers=HTMX
    ).content.decode()
    assert f"Installed into {namespace} on dev: installed." in done
    assert decoded(read_secret(kube_control_plane, namespace, "api")) == {"API_KEY": "k-1"}
    assert "k-1" not in done
    item = Installation.objects.get(namespace=namespace)
    removed = member.post(
        base + "uninstall/", {"installation": item.pk}, headers=HTMX
    ).content.decode()
    assert f"Removed api from {namespace} on dev." in removed
    with pytest.raises(KubeAPIError):
        read_secret(kube_control_plane, namespace, "api")
    again = member.post(base + "uninstall/", {"installation": item.pk}, headers=HTMX)
    assert "no longer installed" in again.content.decode()
