"""Bulk actions of the secrets list: tag, install and delete many secrets, confirmed first,
each item through its service (validated and audited as alone), with per-item results."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from clusters import services as cluster_services
from clusters.models import Cluster, Installation
from orgs.models import Membership, Role
from secrets_app import services
from secrets_app.models import SecretIndex
from tests.conftest import Personas, VaultServer
from tests.test_clusters import decoded, new_namespace, read_secret
from tests.test_dashboard import LOGIN, signed_in
from tests.worker import run_worker
from tools.devstack.pytest_plugin import ControlPlane, KubeAPIError

pytestmark = pytest.mark.django_db


def url(personas: Personas, action: str) -> str:
    if action == "install":  # the clusters app's, which installs
        return f"/orgs/{personas.org.pk}/clusters/bulk-install/"
    return f"/orgs/{personas.org.pk}/secrets/bulk/{action}/"


def make(personas: Personas, name: str, type: str = "generic", **kw: Any) -> SecretIndex:
    values = kw.pop("values", {"API_KEY": f"value-of-{name}"})
    return services.secret_create(
        actor=personas.admin,
        organization=personas.org,
        name=name,
        type=type,
        values=values,
        tags=kw.pop("tags", ["repo:pipeline"]),
    ).row


@pytest.fixture
def three(vault: VaultServer, personas: Personas) -> list[SecretIndex]:
    return [make(personas, n) for n in ("api-a", "api-b", "api-c")]


def test_bulk_actions_by_persona(three: list[SecretIndex], personas: Personas) -> None:
    ids = {"id": [three[0].secret_id]}
    for action in ("tag", "install", "delete"):
        for persona in ("admin", "member"):
            response = signed_in(personas, persona).post(url(personas, action), ids)
            assert response.status_code == 200, (action, persona)
            assert "api-a" in response.content.decode()
        viewer = signed_in(personas, "viewer").post(url(personas, action), ids)
        assert viewer.status_code == 403 and "member role" in viewer.content.decode()
        assert signed_in(personas, "outsider").post(url(personas, action), ids).status_code == 404
        anonymous = Client().post(url(personas, action), ids)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith(LOGIN)
        # A page to confirm, never a GET that acts.
        assert signed_in(personas, "admin").get(url(personas, action)).status_code == 405
    assert SecretIndex.objects.filter(organization=personas.org).count() == 3


def test_the_list_offers_selection_to_members_only(
    three: list[SecretIndex], personas: Personas
) -> None:
    list_url = f"/orgs/{personas.org.pk}/secrets/"
    member = signed_in(personas, "member").get(list_url).content.decode()
    assert member.count('name="id" value=') == 3
    assert 'formaction="' + url(personas, "delete") + '"' in member
    assert '<label for="pick-1" class="sr-only">Select api-a</label>' in member
    selected = signed_in(personas, "member").get(list_url + "?select=page").content.decode()
    assert selected.count(" checked>") == 3
    viewer = signed_in(personas, "viewer").get(list_url).content.decode()
    assert 'name="id"' not in viewer and "Delete selected" not in viewer


def test_bulk_tag_confirms_then_tags_each_with_per_item_results(
    three: list[SecretIndex], personas: Personas
) -> None:
    client = signed_in(personas, "member")
    ids = [r.secret_id for r in three[:2]]
    confirm = client.post(url(personas, "tag"), {"id": ids}).content.decode()
    assert "Tag 2 secrets" in confirm and "api-c" not in confirm
    assert SecretIndex.objects.get(name="api-a").version == 1  # nothing done yet
    services.tag_add(
        actor=personas.admin, organization=personas.org, secret_id=ids[1], tag="env:prod"
    )
    done = client.post(
        url(personas, "tag"), {"id": ids, "confirm": "1", "tag": "env:prod", "mode": "add"}
    )
    # Post/redirect/get: the results page only reads what the POST kept.
    assert done.status_code == 302 and done["Location"] == url(personas, "done")
    html = client.get(done["Location"]).content.decode()
    assert html.count(">tagged<") == client.get(done["Location"]).content.decode().count(">tagged<")
    assert ">tagged<" in html and ">unchanged<" in html and "0 failed" in html
    assert SecretIndex.objects.get(name="api-a").tags == ["env:prod", "repo:pipeline"]
    assert "env:prod" not in SecretIndex.objects.get(name="api-c").tags
    events = AuditEvent.objects.filter(action="secret.tag.add", actor=personas.member.username)
    assert [e.target_name for e in events] == ["api-a"]
    assert "value-of-" not in html

    removed = client.post(
        url(personas, "tag"),
        {"id": ids, "confirm": "1", "tag": "env:prod", "mode": "remove"},
        follow=True,
    ).content.decode()
    assert removed.count(">untagged<") == 2
    assert all("env:prod" not in r.tags for r in SecretIndex.objects.all())


def test_a_bad_tag_is_one_error_on_the_field_and_nothing_changes(
    three: list[SecretIndex], personas: Personas
) -> None:
    ids = [r.secret_id for r in three]
    for bad in ("banzai:hidden", "has space", ""):
        response = signed_in(personas, "member").post(
            url(personas, "tag"), {"id": ids, "confirm": "1", "tag": bad, "mode": "add"}
        )
        html = response.content.decode()
        assert response.status_code == 400, bad
        assert 'id="id_tag_error"><p class="error">' in html
    assert {r.version for r in SecretIndex.objects.all()} == {1}


@pytest.mark.django_db(transaction=True)
def test_bulk_delete_needs_the_count_typed_and_lists_installed_copies(
    vault: VaultServer, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    rows = [make(personas, n) for n in ("old-a", "old-b", "keep")]
    cluster = cluster_services.cluster_create(
        actor=personas.admin,
        organization=personas.org,
        name="dev",
        kubeconfig=kube_control_plane.admin_kubeconfig(),
    )
    namespace = new_namespace("bulkdel")
    cluster_services.install(
        actor=personas.admin,
        cluster=cluster,
        namespace=namespace,
        query=cluster_services.InstallQuery(ids=[rows[0].secret_id]),
    )
    client = signed_in(personas, "member")
    ids = [r.secret_id for r in rows[:2]]
    confirm = client.post(url(personas, "delete"), {"id": ids}).content.decode()
    assert "Delete 2 secrets?" in confirm and f"dev/{namespace}/old-a" in confirm
    wrong = client.post(url(personas, "delete"), {"id": ids, "confirm": "1", "count": "3"})
    assert wrong.status_code == 400 and "Type 2, the number of secrets selected" in (
        wrong.content.decode()
    )
    assert SecretIndex.objects.filter(name__in=["old-a", "old-b"]).count() == 2
    done = client.post(
        url(personas, "delete"), {"id": ids, "confirm": "1", "count": "2"}, follow=True
    )
    html = done.content.decode()
    assert html.count(">deleted<") == 2 and "0 failed" in html
    assert set(SecretIndex.objects.values_list("name", flat=True)) == {"dev-kubeconfig", "keep"}
    # The delete queued the removal of the installed copy; the worker removes it.
    assert read_secret(kube_control_plane, namespace, "old-a")
    assert run_worker() == 1 and not Installation.objects.exists()
    with pytest.raises(KubeAPIError) as gone:  # the installed copy went with the secret
        read_secret(kube_control_plane, namespace, "old-a")
    assert gone.value.status == 404
    assert set(
        AuditEvent.objects.filter(action="secret.delete").values_list("target_name", flat=True)
    ) == {"old-a", "old-b"}


def test_bulk_delete_reports_items_the_role_cannot_delete(
    vault: VaultServer, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    plain = make(personas, "plain")
    # kubernetes values need the admin role: a member's bulk delete fails on that item alone.
    kube = make(
        personas,
        "kubecfg",
        "kubernetes",
        values={"K8Sconfig": kube_control_plane.admin_kubeconfig()},
    )
    assert Membership.objects.get(user=personas.member, organization=personas.org).role == (
        Role.MEMBER
    )
    ids = [plain.secret_id, kube.secret_id]
    done = signed_in(personas, "member").post(
        url(personas, "delete"), {"id": ids, "confirm": "1", "count": "2"}, follow=True
    )
    html = done.content.decode()
    assert "1 failed" in html and ">failed<" in html and "the admin role" in html
    assert set(SecretIndex.objects.values_list("name", flat=True)) == {"kubecfg"}


def test_select_all_matching_takes_the_filters_and_refuses_too_many(
    three: list[SecretIndex], personas: Personas
) -> None:
    make(personas, "other", tags=["repo:other"])
    client = signed_in(personas, "member")
    confirm = client.post(url(personas, "tag"), {"all": "1", "tag": "repo:pipeline"})
    html = confirm.content.decode()
    assert "Tag 3 secrets" in html and ">other<" not in html
    assert html.count('name="id" value=') == 3
    nothing = client.post(url(personas, "tag"), {})
    assert nothing.status_code == 400 and "Select at least one secret" in nothing.content.decode()
    foreign = client.post(url(personas, "tag"), {"id": ["f" * 64]})
    assert foreign.status_code == 400 and "exists any more" in foreign.content.decode()
    bad = client.post(url(personas, "tag"), {"all": "1", "type": "bogus"})
    assert bad.status_code == 400 and "no type named" in bad.content.decode()


def test_bulk_install_lands_in_the_cluster_with_per_item_results(
    vault: VaultServer, personas: Personas, kube_control_plane: ControlPlane
) -> None:
    rows = [make(personas, n) for n in ("svc-a", "svc-b")]
    cluster: Cluster = cluster_services.cluster_create(
        actor=personas.admin,
        organization=personas.org,
        name="dev",
        kubeconfig=kube_control_plane.admin_kubeconfig(),
    )
    namespace = new_namespace("bulkins")
    kube_control_plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
    kube_control_plane.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/secrets",
        {"metadata": {"name": "svc-b"}, "stringData": {"x": "theirs"}},
    )
    client = signed_in(personas, "member")
    ids = [r.secret_id for r in rows]
    confirm = client.post(url(personas, "install"), {"id": ids}).content.decode()
    assert f'<option value="{cluster.pk}">dev</option>' in confirm
    assert "Replace Secrets" not in confirm  # members cannot overwrite
    posted = client.post(
        url(personas, "install"),
        {"id": ids, "confirm": "1", "cluster": str(cluster.pk), "namespace": namespace},
        follow=True,
    )
    # The outcome is shown at the top of the cluster's page, after the redirect.
    assert posted.redirect_chain == [(f"/orgs/{personas.org.pk}/clusters/{cluster.pk}/", 302)]
    done = posted.content.decode()
    assert done.index("1 failed") < done.index('id="installations-panel"')
    assert ">installed<" in done and ">failed<" in done and "1 failed" in done
    assert "overwrite=true" not in done and "Replace Secrets of the same name" in done
    assert decoded(read_secret(kube_control_plane, namespace, "svc-a")) == {
        "API_KEY": "value-of-svc-a"
    }
    assert "value-of-" not in done
    bad = client.post(
        url(personas, "install"),
        {"id": ids, "confirm": "1", "cluster": str(cluster.pk), "namespace": "Bad_NS"},
    )
    assert bad.status_code == 400 and 'id="id_namespace_error"><p class="error">' in (
        bad.content.decode()
    )
