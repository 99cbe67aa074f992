"""The audit trail: every write and every read of values is recorded, without values."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from audit import services as audit
from audit.models import AuditEvent
from orgs.models import User
from tests.helpers import assert_problem, check_access
from tests.schema_check import CheckedAPIClient
from tests.worker import run_worker

pytestmark = pytest.mark.django_db

GIVEN = "given-value-that-must-not-be-audited"


def audit_url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/audit"


def test_secret_lifecycle_is_audited_without_values(vault, personas, clients):
    org = personas.org.pk
    member = clients["member"]
    created = member.post(
        f"/api/v1/orgs/{org}/secrets",
        {"name": "db", "type": "password", "values": {"username": "app"}, "tags": ["a"]},
        format="json",
    ).json()
    generated = created["generated"]["password"]
    url = f"/api/v1/orgs/{org}/secrets/{created['id']}"
    assert member.get(url).status_code == 200
    clients["viewer"].get(url)  # metadata only: not a read of values
    member.put(
        url, {"values": {"username": "app", "password": GIVEN}, "tags": ["a"]}, format="json"
    )
    member.put(f"{url}/tags/env:prod")
    member.delete(f"{url}/tags/env:prod")
    member.delete(url)
    events = clients["admin"].get(audit_url(org)).json()
    assert [e["action"] for e in events] == [
        "secret.delete",
        "secret.tag.remove",
        "secret.tag.add",
        "secret.update",
        "secret.read",
        "secret.create",
        "org.create",
    ]
    assert {e["actor"] for e in events[:-1]} == {"mike"}
    assert events[-2]["detail"] == {"type": "password", "version": 1, "fields": ["password"]}
    assert events[-3]["targetId"] == created["id"] and events[-3]["targetName"] == "db"
    dump = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert generated not in dump and GIVEN not in dump


@pytest.mark.django_db(transaction=True)  # the worker sends the mail (tests/worker.py)
def test_members_and_tokens_are_audited(vault, personas, clients, mailbox):
    org = personas.org.pk
    admin = clients["admin"]
    nina = User.objects.create_user(
        username="nina", email="nina@example.org", password="x-long-password-1"
    )
    invited = admin.post(
        f"/api/v1/orgs/{org}/members", {"username": "nina", "role": "viewer"}, format="json"
    )
    assert invited.status_code == 202, invited.content
    run_worker()  # the request only queued the mail
    link = re.search(r"/invites/[\w-]+/", mailbox.last_to("nina@example.org").get_content())
    assert link
    browser = Client()
    browser.force_login(nina)
    assert browser.post(link.group(0)).status_code == 302  # nina accepts
    added = {"userId": nina.pk}
    admin.put(f"/api/v1/orgs/{org}/members/{added['userId']}", {"role": "member"}, format="json")
    admin.delete(f"/api/v1/orgs/{org}/members/{added['userId']}")
    signed_in = CheckedAPIClient()  # tokens are managed from a session, not with a token
    signed_in.force_login(personas.admin)
    token = signed_in.post("/api/v1/tokens", {"name": "ci"}, format="json").json()
    signed_in.delete(f"/api/v1/tokens/{token['id']}")
    actions = [e["action"] for e in admin.get(audit_url(org)).json()]
    assert actions[:5] == [
        "member.remove",
        "member.role",
        "member.add",
        "invitation.accept",
        "invitation.send",
    ]
    assert not any(a.startswith("token.") for a in actions)  # tokens are personal, not org events
    token_events = AuditEvent.objects.filter(
        action__startswith="token.", organization=None, target_name="ci"
    )
    assert sorted(token_events.values_list("action", flat=True)) == ["token.create", "token.revoke"]
    assert token["token"] not in json.dumps(list(token_events.values()), default=str)


def test_audit_is_for_admins_and_scoped_to_the_org(vault, personas, clients):
    check_access(clients, "get", audit_url(personas.org.pk), allowed=("admin",), ok=200)
    other = clients["outsider"].get(audit_url(personas.other_org.pk)).json()
    assert {e["targetName"] for e in other} == {"org-b"}


def test_filters_and_paging(vault, personas, clients):
    org = personas.org.pk
    ids = []
    for name in ("a", "b", "c"):
        ids.append(
            clients["member"]
            .post(
                f"/api/v1/orgs/{org}/secrets",
                {"name": name, "type": "generic", "values": {"k": "v"}},
                format="json",
            )
            .json()["id"]
        )
    admin = clients["admin"]
    creates = admin.get(audit_url(org) + "?action=secret.").json()
    assert [e["targetName"] for e in creates] == ["c", "b", "a"]
    assert [e["targetName"] for e in admin.get(audit_url(org) + f"?targetId={ids[0]}").json()] == [
        "a"
    ]
    first = admin.get(audit_url(org) + "?action=secret&limit=1").json()
    assert [e["targetName"] for e in first] == ["c"]
    older = admin.get(audit_url(org) + f"?action=secret&before={first[0]['id']}").json()
    assert [e["targetName"] for e in older] == ["b", "a"]
    assert [e["actor"] for e in admin.get(audit_url(org) + "?actor=mike").json()] == ["mike"] * 3
    assert_problem(admin.get(audit_url(org) + "?limit=0"), 400, field="limit")
    assert_problem(admin.get(audit_url(org) + "?before=x"), 400, field="before")


def test_record_refuses_detail_that_could_hold_a_value(personas):
    with pytest.raises(ValueError):
        audit.record(actor="x", action="secret.update", target_type="secret", values={"k": "v"})
    assert not AuditEvent.objects.filter(action="secret.update").exists()


def test_activity_page_for_admins_only(vault, personas, clients):
    from django.test import Client

    org = personas.org.pk
    created = (
        clients["member"]
        .post(
            f"/api/v1/orgs/{org}/secrets",
            {"name": "shown", "type": "password", "values": {"username": "u"}},
            format="json",
        )
        .json()
    )
    clients["member"].get(f"/api/v1/orgs/{org}/secrets/{created['id']}")
    pages = {}
    for persona in ("admin", "member", "viewer", "outsider"):
        client = Client()
        client.force_login(personas.user(persona))
        pages[persona] = client.get(f"/orgs/{org}/activity/")
    assert pages["admin"].status_code == 200
    assert pages["member"].status_code == 403 and pages["viewer"].status_code == 403
    assert pages["outsider"].status_code == 404
    html = pages["admin"].content.decode()
    assert "secret.read" in html and "shown" in html
    assert created["generated"]["password"] not in html
    admin = Client()
    admin.force_login(personas.admin)
    reads = admin.get(f"/orgs/{org}/activity/?kind=secret.read", headers={"HX-Request": "true"})
    body = reads.content.decode()
    assert "<html" not in body and "secret.read" in body and "secret.create" not in body
    assert Client().get(f"/orgs/{org}/activity/").status_code == 302


def test_listing_with_values_audits_each_secret_read(vault, personas, clients):
    org = personas.org.pk
    for name in ("one", "two", "three"):
        clients["member"].post(
            f"/api/v1/orgs/{org}/secrets",
            {"name": name, "type": "generic", "values": {"k": f"value-{name}"}, "tags": ["ci"]},
            format="json",
        )
    listed = clients["member"].get(f"/api/v1/orgs/{org}/secrets?tag=ci&values=true").json()
    assert {s["name"]: s["values"]["k"] for s in listed} == {
        "one": "value-one",
        "three": "value-three",
        "two": "value-two",
    }
    reads = AuditEvent.objects.filter(action="secret.read", organization=personas.org)
    assert sorted(reads.values_list("target_name", flat=True)) == ["one", "three", "two"]
    assert "value-" not in json.dumps(list(reads.values()), default=str)
