"""One-time share links against a real OpenBao: a link opens once and then says so, an
expired or revoked one says so, Vault's own TTL ends it whatever the clock here says, and
neither the value nor the link's token reaches the database or a log."""

from __future__ import annotations

import io
import logging
import secrets
import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from governance import sharing
from governance.models import ShareLink
from pipeline_secrets.core.errors import NotFoundError
from secrets_app import services as secret_services
from secrets_app.models import SecretIndex
from secrets_app.vault import wrapping
from tests.conftest import Personas, VaultServer
from tests.test_canary import database_text

pytestmark = [pytest.mark.django_db, pytest.mark.vault]

VALUES = {"username": "app", "password": "s3cret-pass-word"}


def make_secret(personas: Personas, name: str = "db-pass", **values: str) -> SecretIndex:
    return secret_services.secret_create(
        actor=personas.admin,
        organization=personas.org,
        name=name,
        type="password",
        values=values or VALUES,
        tags=[],
    ).row


def share_url(personas: Personas, row: SecretIndex) -> str:
    return f"/api/v1/orgs/{personas.org.pk}/secrets/{row.secret_id}/share"


def share(client: APIClient, personas: Personas, row: SecretIndex, **body: Any) -> Any:
    return client.post(share_url(personas, row), body, format="json")


def split(url: str) -> tuple[str, str]:
    """The link's path (what a browser requests) and its token (the fragment)."""
    address, _, token = url.partition("#")
    return "/" + address.split("/", 3)[3], token


def reveal(path: str, token: str) -> Any:
    """A reveal as an API client makes it: no cookie, no CSRF token (the token is all)."""
    return Client(enforce_csrf_checks=True).post(
        path, {"token": token}, content_type="application/json", HTTP_ACCEPT="application/json"
    )


def test_a_link_opens_once_then_answers_already_opened(
    vault: VaultServer, personas: Personas, clients: dict[str, APIClient]
) -> None:
    row = make_secret(personas)
    created = share(clients["member"], personas, row, ttl="30m")
    assert created.status_code == 201, created.content
    body = created.json()
    path, token = split(body["url"])
    assert path == f"/s/{body['id']}" and token
    assert body["url"].startswith("http://testserver/s/")

    page = Client().get(path)
    assert page.status_code == 200
    assert b"Reveal" in page.content and VALUES["password"].encode() not in page.content
    assert page["Referrer-Policy"] == "no-referrer"
    assert "noindex" in page["X-Robots-Tag"]

    opened = reveal(path, token)
    assert opened.status_code == 200
    assert opened.json() == {"secret": "db-pass", "type": "password", "values": VALUES}
    again = reveal(path, token)
    assert again.status_code == 410
    assert again.json()["detail"] == "This link was already opened."
    later = Client().get(path)
    assert later.status_code == 410 and b"already opened" in later.content

    link = ShareLink.objects.get(public_id=body["id"])
    assert link.opened_at is not None and link.opened_ip == "127.0.0.1"
    assert link.created_by == "mike"
    opened_event = AuditEvent.objects.get(action="secret.share_opened")
    assert opened_event.detail["ip"] == "127.0.0.1"
    assert opened_event.detail["link"] == link.public_id
    assert AuditEvent.objects.filter(action="secret.share", actor="mike").count() == 1
    read = AuditEvent.objects.get(action="secret.read")
    assert read.detail["purpose"] == "share"


def test_the_opener_ip_comes_from_the_trusted_proxy(
    vault: VaultServer, personas: Personas, clients: dict[str, APIClient], settings: Any
) -> None:
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    row = make_secret(personas)
    path, token = split(share(clients["member"], personas, row).json()["url"])
    opened = Client().post(
        path,
        {"token": token},
        HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.9",
        HTTP_ACCEPT="application/json",
    )
    assert opened.status_code == 200
    assert ShareLink.objects.get().opened_ip == "203.0.113.9"


def test_the_html_reveal_works_without_javascript(
    vault: VaultServer, personas: Personas, clients: dict[str, APIClient]
) -> None:
    row = make_secret(personas)
    created = share(clients["member"], personas, row, fields=["password"])
    path, token = split(created.json()["url"])
    opened = Client().post(path, {"token": token})
    assert opened.status_code == 200
    assert VALUES["password"].encode() in opened.content
    assert b"<dt>username</dt>" not in opened.content  # only the field shared
    assert opened["Referrer-Policy"] == "no-referrer"
    assert Client().post(path, {"token": token}).status_code == 410


def test_an_expired_link_answers_expired(
    vault: VaultServer, personas: Personas, clients: dict[str, APIClient]
) -> None:
    row = make_secret(personas)
    path, token = split(share(clients["member"], personas, row, ttl="1h").json()["url"])
    link = ShareLink.objects.get()
    with pytest.raises(sharing.LinkGoneError, match="expired"):
        sharing.share_open(
            link_id=link.public_id, token=token, ip=None, now=link.expires_at + timedelta(seconds=1)
        )
    assert ShareLink.objects.get().opened_at is None
    ShareLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    gone = reveal(path, token)
    assert gone.status_code == 410 and gone.json()["detail"] == "This link has expired."
    assert Client().get(path).status_code == 410


def test_vault_ends_the_token_at_its_ttl_whatever_the_clock_says(
    vault: VaultServer, personas: Personas
) -> None:
    row = make_secret(personas)
    member = personas.org.memberships.get(user=personas.member)
    now = timezone.now()
    shared = sharing.share_create(
        actor=member, row=row, fields=None, ttl=timedelta(seconds=2), now=now
    )
    time.sleep(3)
    with pytest.raises(NotFoundError, match="not valid"):
        sharing.share_open(link_id=shared.link.public_id, token=shared.token, ip=None, now=now)
    assert ShareLink.objects.get().opened_at is None
    assert not AuditEvent.objects.filter(action="secret.share_opened").exists()


def test_a_revoked_link_answers_revoked(
    vault: VaultServer, personas: Personas, clients: dict[str, APIClient]
) -> None:
    row = make_secret(personas)
    body = share(clients["member"], personas, row).json()
    path, token = split(body["url"])
    links = f"/api/v1/orgs/{personas.org.pk}/share-links"
    assert clients["admin"].delete(f"{links}/{body['id']}").status_code == 204
    assert clients["admin"].delete(f"{links}/{body['id']}").status_code == 204  # again: same
    gone = reveal(path, token)
    assert gone.status_code == 410 and gone.json()["detail"] == "This link was revoked."
    assert wrapping.unwrap(token) is None  # revoked in Vault too, not only here
    link = ShareLink.objects.get()
    assert link.revoked_by == "alice" and link.opened_at is None
    assert AuditEvent.objects.filter(action="secret.share_revoked", actor="alice").exists()


def test_the_creator_revokes_and_other_members_do_not_see_the_link(
    vault: VaultServer, personas: Personas, clients: dict[str, APIClient]
) -> None:
    row = make_secret(personas)
    body = share(clients["admin"], personas, row).json()
    links = f"/api/v1/orgs/{personas.org.pk}/share-links"
    assert clients["member"].get(links).json() == []
    assert clients["member"].delete(f"{links}/{body['id']}").status_code == 404
    assert clients["viewer"].get(links).status_code == 403
    mine = share(clients["member"], personas, row).json()
    assert [x["id"] for x in clients["member"].get(links).json()] == [mine["id"]]
    assert clients["member"].delete(f"{links}/{mine['id']}").status_code == 204
    listed = clients["admin"].get(links).json()
    assert {x["id"]: x["status"] for x in listed} == {mine["id"]: "revoked", body["id"]: "active"}
    path, token = split(body["url"])
    assert reveal(path, token).status_code == 200
    assert clients["admin"].delete(f"{links}/{body['id']}").status_code == 409


def test_a_viewer_cannot_share_and_another_orgs_secret_is_not_found(
    vault: VaultServer, personas: Personas, clients: dict[str, APIClient]
) -> None:
    row = make_secret(personas)
    assert share(clients["viewer"], personas, row).status_code == 403
    assert share(clients["outsider"], personas, row).status_code == 404
    theirs = secret_services.secret_create(
        actor=personas.outsider,
        organization=personas.other_org,
        name="theirs",
        type="password",
        values=VALUES,
        tags=[],
    ).row
    assert share(clients["member"], personas, theirs).status_code == 404
    assert not ShareLink.objects.exists()


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({"ttl": "8d"}, "ttl"),
        ({"ttl": "soon"}, "ttl"),
        ({"ttl": "0s"}, "ttl"),
        ({"fields": ["nope"]}, "fields"),
    ],
)
def test_bad_input_names_the_field_and_makes_no_link(
    vault: VaultServer,
    personas: Personas,
    clients: dict[str, APIClient],
    given: dict[str, Any],
    problem: str,
) -> None:
    row = make_secret(personas)
    answer = share(clients["member"], personas, row, **given)
    assert answer.status_code == 400, answer.content
    assert problem in answer.json()["errors"]
    assert not ShareLink.objects.exists()
    assert not AuditEvent.objects.filter(action__in=["secret.read", "secret.share"]).exists()


def test_the_default_lifetime_is_an_hour_and_seven_days_the_longest(
    vault: VaultServer, personas: Personas, clients: dict[str, APIClient], settings: Any
) -> None:
    settings.PUBLIC_URL = "https://secrets.example.com"
    row = make_secret(personas)
    before = timezone.now()
    short = share(clients["member"], personas, row).json()
    assert short["url"].startswith(f"https://secrets.example.com/s/{short['id']}#")
    long = share(clients["member"], personas, row, ttl="7d").json()
    by_id = {link.public_id: link.expires_at - before for link in ShareLink.objects.all()}
    assert timedelta(minutes=59) < by_id[short["id"]] <= timedelta(hours=1, seconds=5)
    assert timedelta(days=6, hours=23) < by_id[long["id"]] <= timedelta(days=7, seconds=5)


def test_a_token_is_recorded_against_its_own_link(
    vault: VaultServer, personas: Personas, clients: dict[str, APIClient]
) -> None:
    row = make_secret(personas)
    first = share(clients["member"], personas, row).json()
    second = share(clients["member"], personas, row).json()
    first_path, _ = split(first["url"])
    _, second_token = split(second["url"])
    assert reveal(first_path, second_token).status_code == 200
    opened = {link.public_id for link in ShareLink.objects.filter(opened_at__isnull=False)}
    assert opened == {second["id"]}
    assert reveal(first_path, "not-a-token").status_code == 404
    assert ShareLink.objects.filter(opened_at__isnull=False).count() == 1


def test_the_value_and_the_token_reach_no_row_and_no_log(
    vault: VaultServer,
    personas: Personas,
    clients: dict[str, APIClient],
    app_log: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = f"canary-{secrets.token_hex(12)}"
    row = make_secret(personas, username="app", password=canary)
    answers = [share(clients["member"], personas, row), share(clients["member"], personas, row)]
    tokens = [split(a.json()["url"])[1] for a in answers]
    path, token = split(answers[0].json()["url"])
    answers += [Client().get(path), reveal(path, token), reveal(path, token)]
    answers.append(clients["admin"].delete(f"/api/v1/orgs/{personas.org.pk}/share-links/x"))
    answers.append(clients["admin"].get(f"/api/v1/orgs/{personas.org.pk}/share-links"))
    assert answers[3].json()["values"]["password"] == canary  # it did travel
    stored = database_text()
    logged = app_log.getvalue() + caplog.text
    for needle in (canary, *tokens):
        assert needle not in stored
        assert needle not in logged
    for answer in answers[4:]:
        assert canary.encode() not in answer.content
        assert not any(t.encode() in answer.content for t in tokens)


def test_the_secret_page_panel_shows_a_new_link_once(
    vault: VaultServer, personas: Personas
) -> None:
    row = make_secret(personas)
    panel = f"/orgs/{personas.org.pk}/secrets/{row.secret_id}/share/"
    page = Client()
    page.force_login(personas.member)
    detail = page.get(f"/orgs/{personas.org.pk}/secrets/{row.secret_id}/")
    assert panel.encode() in detail.content
    made = page.post(panel, {"share_fields": ["password"], "ttl": "4h"})
    assert made.status_code == 200
    assert "no-store" in made["Cache-Control"]
    link = ShareLink.objects.get()
    assert link.fields == ["password"]
    marker = f"/s/{link.public_id}#".encode()
    assert marker in made.content
    again = page.get(panel)
    assert marker not in again.content and b"active" in again.content
    revoke = f"/orgs/{personas.org.pk}/share-links/{link.public_id}/revoke/"
    assert revoke.encode() in again.content
    revoked = page.post(revoke)
    assert revoked.status_code == 200 and b"revoked" in revoked.content
    assert revoke.encode() not in revoked.content
    assert ShareLink.objects.get().revoked_by == "mike"
    viewer = Client()
    viewer.force_login(personas.viewer)
    assert viewer.post(panel, {"ttl": "1h"}).status_code == 403
    detail = viewer.get(f"/orgs/{personas.org.pk}/secrets/{row.secret_id}/")
    assert panel.encode() not in detail.content
