"""Change requests on the dashboard (the queue with its count in the tabs, the request's
diff and buttons, the protection form), their notifications, and an approved change
reaching the installed copies in a real kube-apiserver."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clusters.models import Installation
from governance import changes_tasks
from governance.models import ChangeRequest, Protection
from notifications.models import NotificationDelivery, NotificationTarget
from secrets_app import vault as store
from tests.test_clusters import decoded, install, new_namespace, read_secret, register
from tests.test_dashboard import signed_in
from tests.test_governance_changes import changes_url, create, protect, secrets_url
from tests.test_navigation import tabs
from tests.worker import run_worker


def held_update(personas, clients, values=None):
    org = personas.org.pk
    created = create(clients["member"], org, "db", {"password": "one"}, ["env:prod"])
    protect(clients["admin"], org, tags=["env:prod"])
    response = clients["member"].put(
        secrets_url(org, f"/{created['id']}"),
        {"values": values or {"password": "two"}, "tags": ["env:prod"]},
        format="json",
    )
    assert response.status_code == 202, response.content
    return created["id"], ChangeRequest.objects.get(pk=response.json()["changeRequest"]["id"])


@pytest.mark.django_db
def test_the_queue_counts_pending_requests_and_the_page_shows_the_masked_diff(
    vault, personas, clients
):
    _, item = held_update(personas, clients, {"password": "s3cr3t-two", "extra": "s3cr3t-x"})
    org = personas.org.pk
    admin = signed_in(personas, "admin")
    queue = admin.get(f"/orgs/{org}/change-requests/")
    html = queue.content.decode()
    assert "Change requests (1)" in tabs(html)
    assert f"/orgs/{org}/change-requests/{item.pk}/" in html and "mike" in html
    page = admin.get(f"/orgs/{org}/change-requests/{item.pk}/").content.decode()
    assert "extra" in page and "password" in page and "s3cr3t" not in page
    assert "Approve" in page and "Withdraw" not in page
    activity = admin.get(f"/orgs/{org}/activity/").content.decode()
    assert f'href="/orgs/{org}/change-requests/{item.pk}/"' in activity
    mine = signed_in(personas, "member").get(f"/orgs/{org}/change-requests/{item.pk}/")
    assert "Withdraw" in mine.content.decode() and "Approve" not in mine.content.decode()


@pytest.mark.django_db
def test_reject_from_the_page_redirects_back_and_ends_the_request(vault, personas, clients):
    _, item = held_update(personas, clients)
    org = personas.org.pk
    admin = signed_in(personas, "admin")
    response = admin.post(f"/orgs/{org}/change-requests/{item.pk}/reject/")
    assert response.status_code == 302
    assert response["Location"] == f"/orgs/{org}/change-requests/{item.pk}/"
    item.refresh_from_db()
    assert item.status == "rejected" and store.read(item.held_path) is None
    html = admin.get(f"/orgs/{org}/change-requests/").content.decode()
    assert "Change requests" in tabs(html) and "Change requests (1)" not in tabs(html)


@pytest.mark.django_db
def test_a_held_update_from_the_edit_page_says_it_is_held(vault, personas, clients):
    _, item = held_update(personas, clients)
    org = personas.org.pk
    member = signed_in(personas, "member")
    response = member.post(
        f"/orgs/{org}/secrets/{item.secret_id}/edit/",
        {"version": "1", "verify": "on", "v_password": "three"},
        follow=True,
        HTTP_REFERER=f"/orgs/{org}/secrets/{item.secret_id}/",
    )
    assert "held for approval" in response.content.decode()
    assert ChangeRequest.objects.filter(status="pending").count() == 2


@pytest.mark.django_db
def test_the_protection_form_saves_the_rule_and_shows_field_errors(vault, personas):
    org = personas.org.pk
    admin = signed_in(personas, "admin")
    assert signed_in(personas, "member").get(f"/orgs/{org}/protection/").status_code == 403
    bad = admin.post(
        f"/orgs/{org}/protection/",
        {"tags": "env:prod", "requiredApprovals": "0", "scheduledRotation": "allow"},
    )
    assert bad.status_code == 400 and "from 1 to" in bad.content.decode()
    assert not Protection.objects.exists()
    saved = admin.post(
        f"/orgs/{org}/protection/",
        {"tags": "env:prod\nteam:ops", "requiredApprovals": "2", "scheduledRotation": "hold"},
    )
    assert saved.status_code == 302
    rule = Protection.objects.get()
    assert rule.tags == ["env:prod", "team:ops"] and rule.required_approvals == 2
    assert rule.scheduled_rotation == "hold" and rule.break_glass is False


@pytest.mark.django_db
def test_requests_and_decisions_are_notified(vault, personas, clients):
    NotificationTarget.objects.create(
        organization=personas.org,
        name="ops",
        kind="email",
        emails=["ops@example.com"],
        events=["change.requested", "change.decided"],
    )
    _, item = held_update(personas, clients)
    clients["admin"].post(changes_url(personas.org.pk, f"/{item.pk}/approve"))
    sent = list(NotificationDelivery.objects.order_by("pk").values_list("event", "subject"))
    assert [event for event, _ in sent] == ["change.requested", "change.decided"]
    assert f"#{item.pk}" in sent[0][1] and "applied" in sent[1][1]
    assert not any("two" in str(d) for d in NotificationDelivery.objects.values("detail"))


def installed_then_protected(personas, clients, kube_control_plane):
    """A secret installed into a fresh namespace of a real cluster, then protected."""
    org = personas.org.pk
    cluster = register(clients["admin"], org, "dev", kube_control_plane.admin_kubeconfig())
    created = create(clients["member"], org, "app", {"k": "one"}, ["env:prod"])
    namespace = new_namespace("kept")
    body = {"namespace": namespace, "query": {"ids": [created["id"]]}}
    assert install(clients["member"], org, cluster["id"], body).json()[0]["status"] == "installed"
    protect(clients["admin"], org, tags=["env:prod"])
    return cluster, created, namespace


@pytest.mark.django_db(transaction=True)
def test_an_approved_change_updates_the_installed_copies(
    vault, personas, clients, kube_control_plane
):
    org = personas.org.pk
    _, created, namespace = installed_then_protected(personas, clients, kube_control_plane)
    held = clients["member"].put(
        secrets_url(org, f"/{created['id']}"),
        {"values": {"k": "two"}, "tags": ["env:prod"]},
        format="json",
    )
    assert held.status_code == 202
    run_worker()
    assert decoded(read_secret(kube_control_plane, namespace, "app")) == {"k": "one"}
    change = held.json()["changeRequest"]["id"]
    applied = clients["admin"].post(changes_url(org, f"/{change}/approve")).json()
    assert applied["status"] == "applied" and applied["appliedVersion"] == 2
    assert run_worker() >= 1
    assert decoded(read_secret(kube_control_plane, namespace, "app")) == {"k": "two"}


@pytest.mark.django_db(transaction=True)
def test_an_install_into_a_new_namespace_is_held_until_approved(
    vault, personas, clients, kube_control_plane
):
    org = personas.org.pk
    cluster, created, first = installed_then_protected(personas, clients, kube_control_plane)
    body = {"namespace": first, "query": {"ids": [created["id"]]}}
    # Where a copy is already, installing again refreshes it: no request.
    again = install(clients["member"], org, cluster["id"], body).json()
    assert again[0]["status"] == "unchanged" and not ChangeRequest.objects.exists()
    second = new_namespace("held")
    body = {"namespace": second, "query": {"ids": [created["id"]]}}
    held = install(clients["member"], org, cluster["id"], body).json()
    assert held[0]["status"] == "held" and "change request" in held[0]["error"]
    item = ChangeRequest.objects.get()
    assert item.kind == "install" and item.proposal["install"]["namespace"] == second
    assert not Installation.objects.filter(namespace=second).exists()
    page = signed_in(personas, "admin").get(f"/orgs/{org}/change-requests/{item.pk}/")
    assert second in page.content.decode()
    applied = clients["admin"].post(changes_url(org, f"/{item.pk}/approve")).json()
    assert applied["status"] == "applied", applied
    assert decoded(read_secret(kube_control_plane, second, "app")) == {"k": "one"}
    assert Installation.objects.filter(namespace=second).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_periodic_command_queues_the_expiry_of_due_requests(vault, personas, clients):
    _, item = held_update(personas, clients)
    assert changes_tasks.enqueue_expiry(item.expires_at - timedelta(seconds=1)) == {"queued": 0}
    assert changes_tasks.enqueue_expiry(item.expires_at) == {"queued": 1}
    assert run_worker() == 1
    item.refresh_from_db()
    assert item.status == "expired" and store.read(item.held_path) is None
