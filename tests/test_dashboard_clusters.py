"""Clusters in the dashboard: register, check, install, uninstall, delete, by role."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from clusters import services
from clusters.models import Cluster, Installation
from secrets_app import services as secret_services
from secrets_app.models import SecretIndex
from secrets_app.types import Context
from tests.conftest import Personas, VaultServer
from tests.test_clusters import new_namespace, read_secret
from tests.test_dashboard import LOGIN, scan, signed_in
from tests.test_dashboard_list import query_count
from tests.worker import run_worker
from tools.devstack.pytest_plugin import ControlPlane, KubeAPIError, free_port

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
ROLES = ("admin", "member", "viewer")


def base(personas: Personas) -> str:
    return f"/orgs/{personas.org.pk}/clusters/"


def page(personas: Personas, cluster: Cluster, suffix: str = "") -> str:
    return f"{base(personas)}{cluster.pk}/{suffix}"


def make_secret(
    personas: Personas, name: str, type: str, values: dict[str, str], **kw: Any
) -> SecretIndex:
    return secret_services.secret_create(
        actor=personas.admin, organization=personas.org, name=name, type=type, values=values, **kw
    ).row


@pytest.fixture
def cluster(vault: VaultServer, personas: Personas, kube_control_plane: ControlPlane) -> Cluster:
    return services.cluster_create(
        actor=personas.admin,
        organization=personas.org,
        name="dev",
        kubeconfig=kube_control_plane.admin_kubeconfig(),
    )


@pytest.fixture
def dead_cluster(
    vault: VaultServer, personas: Personas, kube_control_plane: ControlPlane
) -> Cluster:
    dead = kube_control_plane.admin_kubeconfig().replace(
        kube_control_plane.server, f"https://127.0.0.1:{free_port()}"
    )
    return services.cluster_create(
        actor=personas.admin,
        organization=personas.org,
        name="gone",
        kubeconfig=dead,
        ctx=Context(verify_remote=False),
    )


def seed(personas: Personas) -> None:
    make_secret(personas, "web-tls", "tls", {"hosts": "localhost"}, tags=["repo:pipeline"])
    make_secret(personas, "db", "password", {"username": "u"}, tags=["repo:pipeline"])
    make_secret(personas, "other", "generic", {"k": "v"}, tags=["repo:other"])


def install(client: Client, personas: Personas, cluster: Cluster, **data: Any) -> Any:
    return client.post(page(personas, cluster, "install/"), data, headers=HTMX)


def test_every_page_by_persona(cluster: Cluster, personas: Personas) -> None:
    readable = [base(personas), page(personas, cluster)]
    admin_only = [base(personas) + "new/", page(personas, cluster, "delete/")]
    for url in readable + admin_only:
        for persona in ROLES:
            want = 200 if url in readable or persona == "admin" else 403
            assert signed_in(personas, persona).get(url).status_code == want, (url, persona)
        assert signed_in(personas, "outsider").get(url).status_code == 404, url
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and anonymous["Location"] == f"{LOGIN}?next={url}"
    theirs = f"/orgs/{personas.other_org.pk}/clusters/{cluster.pk}/"
    assert signed_in(personas, "outsider").get(theirs).status_code == 404
    assert signed_in(personas, "admin").get(f"{base(personas)}987654/").status_code == 404


def test_writes_need_their_role(cluster: Cluster, personas: Personas) -> None:
    posts = {
        base(personas) + "new/": "admin",
        page(personas, cluster, "delete/"): "admin",
        page(personas, cluster, "install/"): "member",
        page(personas, cluster, "uninstall/"): "member",
        page(personas, cluster, "check/"): "member",
    }
    weaker = {"admin": ("member", "viewer"), "member": ("viewer",), "viewer": ()}
    for url, needed in posts.items():
        for persona in weaker[needed]:
            response = signed_in(personas, persona).post(url, {})
            assert response.status_code == 403, (url, persona)
            assert f"{needed} role" in response.content.decode()
        assert signed_in(personas, "outsider").post(url, {}).status_code == 404, url
        assert Client().post(url, {}).status_code == 302, url
    assert Cluster.objects.filter(pk=cluster.pk).exists()


def test_viewers_see_no_controls_but_the_role_they_need(
    cluster: Cluster, personas: Personas
) -> None:
    listing = signed_in(personas, "viewer").get(base(personas)).content.decode()
    assert "dev" in listing and "Register a cluster" not in listing
    assert "admin role" in listing and "Check now" not in listing
    html = signed_in(personas, "viewer").get(page(personas, cluster)).content.decode()
    controls = ("Install secrets", "Uninstall", "Delete cluster", 'name="namespace"', "Check now")
    for control in controls:
        assert control not in html, control
    assert "member role" in html and "Installed secrets" in html
    member = signed_in(personas, "member").get(page(personas, cluster)).content.decode()
    assert "Install secrets" in member and "Delete cluster" not in member
    assert "admin role" in member


def test_the_empty_list_tells_admins_how_to_register(personas: Personas) -> None:
    admin = signed_in(personas, "admin").get(base(personas)).content.decode()
    assert "No clusters in org-a yet" in admin and "make kube-up" not in admin
    assert "Register your first cluster" in admin
    viewer = signed_in(personas, "viewer").get(base(personas)).content.decode()
    assert "Register your first cluster" not in viewer and "An admin of org-a" in viewer
    tabs = signed_in(personas, "viewer").get(f"/orgs/{personas.org.pk}/secrets/")
    assert f'href="{base(personas)}"' in tabs.content.decode()


def test_forms_need_the_csrf_token(cluster: Cluster, personas: Personas) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.admin)
    for suffix in ("install/", "uninstall/", "check/", "delete/"):
        assert client.post(page(personas, cluster, suffix)).status_code == 403, suffix
    assert client.post(base(personas) + "new/").status_code == 403
    html = client.get(page(personas, cluster)).content.decode()
    assert '"X-CSRFToken": "' in html and html.count("csrfmiddlewaretoken") >= 2


def test_register_with_a_pasted_kubeconfig(
    vault: VaultServer, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    client = signed_in(personas, "admin")
    form = client.get(base(personas) + "new/").content.decode()
    fields = scan(form)
    assert 'name="kubeconfig"' in form and 'autocomplete="off"' in form
    assert "id_kubeconfig" in fields.label_targets and "make kube-up" not in form
    text = kube_control_plane.admin_kubeconfig()
    response = client.post(
        base(personas) + "new/", {"name": "dev", "kubeconfig": text, "verify": "on"}
    )
    cluster = Cluster.objects.get(name="dev")
    assert response.status_code == 302 and response["Location"] == page(personas, cluster)
    assert cluster.reachable is True and cluster.server_version.startswith("v1.")
    secret = SecretIndex.objects.get(secret_id=cluster.kubeconfig_secret_id)
    assert secret.name == "dev-kubeconfig" and secret.tags == ["cluster:dev"]
    detail = client.get(page(personas, cluster)).content.decode()
    assert "Registered dev: it answers" in detail and "reachable" in detail
    assert "dev-kubeconfig" in detail and "client-key-data" not in detail
    listing = client.get(base(personas)).content.decode()
    assert cluster.server_version in listing and "Check now" in listing


def test_register_from_a_kubernetes_secret_of_the_org(
    vault: VaultServer, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    text = kube_control_plane.admin_kubeconfig()
    ours = make_secret(personas, "prod-kc", "kubernetes", {"K8Sconfig": text})
    make_secret(personas, "not-kc", "generic", {"a": "b"})
    secret_services.secret_create(
        actor=personas.outsider,
        organization=personas.other_org,
        name="their-kc",
        type="kubernetes",
        values={"K8Sconfig": text},
    )
    client = signed_in(personas, "admin")
    form = client.get(base(personas) + "new/").content.decode()
    assert f'value="{ours.secret_id}"' in form and "prod-kc" in form
    assert "not-kc" not in form and "their-kc" not in form
    response = client.post(base(personas) + "new/", {"name": "prod", "secret": ours.secret_id})
    cluster = Cluster.objects.get(name="prod")
    assert response.status_code == 302 and cluster.kubeconfig_secret_id == ours.secret_id
    taken = client.post(base(personas) + "new/", {"name": "prod", "secret": ours.secret_id})
    assert taken.status_code == 400 and "already exists" in taken.content.decode()


def test_a_bad_kubeconfig_is_an_error_on_its_field(vault: VaultServer, personas: Personas) -> None:
    client = signed_in(personas, "admin")
    bad = "clusters: [unclosed"
    response = client.post(base(personas) + "new/", {"name": "dev", "kubeconfig": bad})
    html = response.content.decode()
    assert response.status_code == 400 and 'id="id_kubeconfig_error"' in html
    error_slot = html.split('id="id_kubeconfig_error"')[1].split("</div>")[0]
    assert "YAML" in error_slot and bad not in html
    partial = client.post(
        base(personas) + "new/", {"name": "Bad Name", "kubeconfig": bad}, headers=HTMX
    )
    body = partial.content.decode()
    assert partial["HX-Reswap"] == "none" and "<html" not in body
    assert '<div class="field-errors" id="id_name_error" hx-swap-oob="true">' in body
    neither = client.post(base(personas) + "new/", {"name": "dev"}).content.decode()
    assert "Paste a kubeconfig, or choose" in neither
    assert not Cluster.objects.exists() and not SecretIndex.objects.exists()


def test_check_now_answers_the_status_it_swaps(cluster: Cluster, personas: Personas) -> None:
    client = signed_in(personas, "member")
    row = client.post(page(personas, cluster, "check/"), {"from": "list"}, headers=HTMX)
    html = row.content.decode()
    assert html.strip().startswith("<tr") and f'id="cluster-{cluster.pk}"' in html
    assert "reachable" in html and "<html" not in html
    card = client.post(page(personas, cluster, "check/"), headers=HTMX).content.decode()
    assert 'id="cluster-status"' in card and "Checked just now" in card
    plain = client.post(page(personas, cluster, "check/"), {"from": "list"})
    assert plain.status_code == 302 and plain["Location"] == base(personas)


def test_an_unreachable_cluster_shows_its_error(dead_cluster: Cluster, personas: Personas) -> None:
    listing = signed_in(personas, "viewer").get(base(personas)).content.decode()
    assert "unreachable" in listing and dead_cluster.last_error[:30] in listing


def test_install_answers_each_secret_with_sourcing_and_status(
    cluster: Cluster, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    seed(personas)
    namespace = new_namespace("dash")
    client = signed_in(personas, "member")
    response = install(client, personas, cluster, namespace=namespace, tags="repo:pipeline")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    rows = {part.split("</th>")[0].split(">")[-1]: part for part in html.split('"result-row"')[1:]}
    assert set(rows) == {"web-tls", "db"}
    assert "volume" in rows["web-tls"] and "env" in rows["db"]
    assert all(">installed<" in row for row in rows.values())
    assert 'id="installations-panel" class="card panel"' in html and 'hx-swap-oob="true"' in html
    assert read_secret(kube_control_plane, namespace, "web-tls")["type"] == "kubernetes.io/tls"
    assert Installation.objects.filter(namespace=namespace).count() == 2
    again = install(client, personas, cluster, namespace=namespace, type="password", ttl="600")
    assert ">unchanged<" in again.content.decode()
    item = Installation.objects.get(namespace=namespace, kube_name="db")
    assert item.expires_at is not None and item.installed_by == "mike"
    detail = signed_in(personas, "viewer").get(page(personas, cluster)).content.decode()
    assert namespace in detail and "web-tls" in detail and "v1" in detail and "mike" in detail


def test_install_by_names_and_the_plain_form_post(
    cluster: Cluster, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    seed(personas)
    other = SecretIndex.objects.get(name="other")
    namespace = new_namespace("dash")
    client = signed_in(personas, "member")
    form = client.get(page(personas, cluster)).content.decode()
    assert 'hx-indicator="#install-progress"' in form and "hx-disabled-elt" in form
    assert 'name="name"' in form and 'value="tls"' in form and 'list="namespaces"' in form
    response = client.post(
        page(personas, cluster, "install/"), {"namespace": namespace, "ids": [other.secret_id]}
    )
    # Post/redirect/get: the cluster's page shows the outcome at its top, once.
    assert response.status_code == 302 and response["Location"] == page(personas, cluster)
    html = client.get(response["Location"]).content.decode()
    assert '"result-row"' in html and "Installed 1 secret into" in html
    assert html.index('"result-row"') < html.index('id="installations-panel"')
    assert '"result-row"' not in client.get(response["Location"]).content.decode()
    assert read_secret(kube_control_plane, namespace, "other")["type"] == "Opaque"


def test_install_errors_come_back_inline(cluster: Cluster, personas: Personas) -> None:
    seed(personas)
    theirs = secret_services.secret_create(
        actor=personas.outsider,
        organization=personas.other_org,
        name="theirs",
        type="generic",
        values={"k": "v"},
    ).row
    client = signed_in(personas, "member")
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"namespace": "Bad_NS", "type": "generic"}, "id_namespace_error", "DNS-1123"),
        ({"namespace": "ok", "type": "generic", "ttl": "0"}, "id_ttl_error", "between 1 and"),
        ({"namespace": "ok", "ids": [theirs.secret_id]}, "id_ids_error", "valid choice"),
        ({"namespace": "ok"}, "id_type_error", "Choose the secrets to install"),
    ]
    for data, slot, message in cases:
        response = install(client, personas, cluster, **data)
        html = response.content.decode()
        assert response["HX-Reswap"] == "none", data
        assert message in html.split(f'id="{slot}"')[1].split("</div>")[0], data
        full = client.post(page(personas, cluster, "install/"), data)
        assert full.status_code == 400 and message in full.content.decode()
    assert not Installation.objects.exists()


def test_an_unreachable_cluster_is_an_alert_naming_it(
    dead_cluster: Cluster, personas: Personas
) -> None:
    seed(personas)
    client = signed_in(personas, "member")
    response = install(client, personas, dead_cluster, namespace="ok", tags="repo:pipeline")
    html = response.content.decode()
    assert response.status_code == 200 and 'role="alert"' in html
    assert "cluster gone could not be reached" in html and "Nothing was installed" in html
    full = client.post(page(personas, dead_cluster, "install/"), {"namespace": "ok", "type": "tls"})
    assert full.status_code == 502 and "cluster gone could not be reached" in full.content.decode()
    assert not Installation.objects.exists()


def test_uninstall_removes_the_secret_from_the_cluster(
    cluster: Cluster, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    seed(personas)
    namespace = new_namespace("dash")
    client = signed_in(personas, "member")
    install(client, personas, cluster, namespace=namespace, tags="repo:pipeline")
    html = client.get(page(personas, cluster)).content.decode()
    confirm_url = page(personas, cluster, f"uninstall/?namespace={namespace}&amp;name=db")
    assert f'href="{confirm_url}"' in html and "hx-confirm" not in html
    confirm = client.get(confirm_url.replace("&amp;", "&")).content.decode()
    assert "Uninstall db from" in confirm and "1 installed copy in 1 cluster" in confirm
    response = client.post(
        page(personas, cluster, "uninstall/"), {"namespace": namespace, "name": "db"}, headers=HTMX
    )
    panel = response.content.decode()
    assert panel.startswith('<section id="installations-panel"') and "Removed db from" in panel
    assert ">web-tls<" in panel and ">db<" not in panel
    with pytest.raises(KubeAPIError) as gone:
        read_secret(kube_control_plane, namespace, "db")
    assert gone.value.status == 404
    missing = client.post(
        page(personas, cluster, "uninstall/"), {"namespace": namespace, "name": "db"}
    )
    assert missing.status_code == 302
    assert "No such installation" in client.get(missing["Location"]).content.decode()


def test_secret_detail_shows_where_it_is_installed(
    cluster: Cluster, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    seed(personas)
    namespace = new_namespace("dash")
    install(signed_in(personas, "member"), personas, cluster, namespace=namespace, type="password")
    row = SecretIndex.objects.get(name="db")
    detail = f"/orgs/{personas.org.pk}/secrets/{row.secret_id}/"
    # The secret's page loads the panel from the clusters feature.
    url = f"/orgs/{personas.org.pk}/clusters/installations/{row.secret_id}/"
    assert f'hx-get="{url}"' in signed_in(personas, "viewer").get(detail).content.decode()
    html = signed_in(personas, "viewer").get(url).content.decode()
    assert "Where it is installed" in html and namespace in html
    assert f'href="{page(personas, cluster)}"' in html and ">current<" in html
    # The installed copy is at version 1; the secret has moved on.
    SecretIndex.objects.filter(pk=row.pk).update(version=2)
    assert "behind v2" in signed_in(personas, "viewer").get(url).content.decode()
    web = SecretIndex.objects.get(name="web-tls")
    other = signed_in(personas, "viewer").get(
        f"/orgs/{personas.org.pk}/clusters/installations/{web.secret_id}/"
    )
    assert "Not installed on any cluster" in other.content.decode()


@pytest.mark.django_db(transaction=True)
def test_delete_asks_first_then_removes_the_cluster(
    cluster: Cluster, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    seed(personas)
    namespace = new_namespace("dash")
    client = signed_in(personas, "admin")
    install(client, personas, cluster, namespace=namespace, type="tls")
    confirm = client.get(page(personas, cluster, "delete/")).content.decode()
    assert "Delete cluster dev?" in confirm and "1 Secret installed" in confirm
    response = client.post(page(personas, cluster, "delete/"))
    assert response.status_code == 302 and response["Location"] == base(personas)
    assert not Cluster.objects.exists() and not Installation.objects.exists()
    assert "Deleted cluster dev" in client.get(base(personas)).content.decode()
    # The worker removes the copy the cluster held.
    assert run_worker() == 1
    with pytest.raises(KubeAPIError):
        read_secret(kube_control_plane, namespace, "web-tls")


def test_the_list_runs_a_constant_number_of_queries(
    personas: Personas, django_assert_max_num_queries
) -> None:
    def add(start: int, count: int) -> None:
        Cluster.objects.bulk_create(
            Cluster(organization=personas.org, name=f"c{i}", kubeconfig_secret_id=f"{i:064x}")
            for i in range(start, start + count)
        )

    client = signed_in(personas, "viewer")
    add(0, 2)
    few = query_count(client, base(personas))
    add(2, 30)
    with django_assert_max_num_queries(few):
        response = client.get(base(personas))
    assert response.content.decode().count('class="cluster-row"') == 32


def test_install_one_secret_with_a_key_mapping(
    cluster: Cluster, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    make_secret(personas, "api", "generic", {"USER": "u", "TOKEN": "t"})
    namespace = new_namespace("dash")
    client = signed_in(personas, "member")
    detail = client.get(page(personas, cluster)).content.decode()
    assert 'name="one-mapping"' in detail and "install-one/" in detail
    form = {
        "one-secret": "api",
        "one-name": "api-env",
        "one-namespace": namespace,
        "one-mapping": 'API_USER=USER\nMODE="prod"\ncreds={"t": "TOKEN"}\nall=*',
    }
    response = client.post(page(personas, cluster, "install-one/"), form)
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert ">installed<" in html
    data = read_secret(kube_control_plane, namespace, "api-env")["data"]
    assert set(data) == {"API_USER", "MODE", "creds", "all"}
    item = Installation.objects.get(namespace=namespace, kube_name="api-env")
    assert item.secret_name == "api" and sorted(item.spec or {}) == [
        "API_USER",
        "MODE",
        "all",
        "creds",
    ]
    # A field the secret does not have is shown on the mapping, naming its key; nothing else
    # is installed.
    bad = client.post(
        page(personas, cluster, "install-one/"),
        {**form, "one-name": "other", "one-mapping": "X=NOPE"},
    )
    assert bad.status_code == 400
    assert "X: The secret has no field NOPE" in bad.content.decode()
    assert not Installation.objects.filter(kube_name="other").exists()
    # Unparseable lines are a form error before anything is sent.
    garbled = client.post(
        page(personas, cluster, "install-one/"), {**form, "one-mapping": "no equals sign"}
    )
    assert garbled.status_code == 400 and "Line 1" in garbled.content.decode()
    # A viewer may not install.
    viewer = signed_in(personas, "viewer")
    assert viewer.post(page(personas, cluster, "install-one/"), form).status_code == 403
