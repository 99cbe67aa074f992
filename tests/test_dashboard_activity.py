"""The activity page: filters by kind, actor, target and dates (bookmarkable), readable
details, links to targets, the time zone, and CSV/JSON exports of the filtered trail."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from audit import services as audit
from audit.models import AuditEvent
from secrets_app.models import SecretIndex
from tests.conftest import Personas
from tests.test_dashboard import LOGIN, signed_in

pytestmark = pytest.mark.django_db


def streamed(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def url(personas: Personas, query: str = "") -> str:
    return f"/orgs/{personas.org.pk}/activity/{query}"


@pytest.fixture
def trail(personas: Personas) -> list[AuditEvent]:
    now = timezone.now()
    secret = SecretIndex.objects.create(
        organization=personas.org,
        secret_id="a" * 64,
        name="payments-db",
        type="password",
        version=2,
        updated_at=now,
    )
    rows: list[tuple[str, str, str, str, str, dict[str, Any]]] = [
        ("alice", "secret.create", "secret", secret.secret_id, "payments-db", {"version": 1}),
        (
            "mike",
            "secret.read",
            "secret",
            secret.secret_id,
            "payments-db",
            {"version": 2, "fields": ["password"]},
        ),
        (
            "mike",
            "cluster.install",
            "cluster",
            "999",
            "dev",
            {"namespace": "build", "statuses": {"installed": 4, "failed": 1}, "overwrite": False},
        ),
        ("alice", "secret.delete", "secret", "b" * 64, "old-api", {"version": 3}),
    ]
    events = []
    for days, (actor, action, ttype, tid, tname, detail) in enumerate(rows):
        event = audit.record(
            organization=personas.org,
            actor=actor,
            action=action,
            target_type=ttype,
            target_id=tid,
            target_name=tname,
            **detail,
        )
        event.created_at = now - timedelta(days=3 - days)
        event.save(update_fields=["created_at"])
        events.append(event)
    audit.record(
        organization=personas.other_org,
        actor="oscar",
        action="secret.create",
        target_type="secret",
        target_id="c" * 64,
        target_name="theirs",
    )
    return events


def test_activity_and_its_exports_by_persona(trail: list[AuditEvent], personas: Personas) -> None:
    for query in ("", "?export=csv", "?export=json"):
        assert signed_in(personas, "admin").get(url(personas, query)).status_code == 200
        for persona in ("member", "viewer"):
            response = signed_in(personas, persona).get(url(personas, query))
            assert response.status_code == 403, (persona, query)
        assert signed_in(personas, "outsider").get(url(personas, query)).status_code == 404
        anonymous = Client().get(url(personas, query))
        assert anonymous.status_code == 302 and anonymous["Location"].startswith(LOGIN)


def test_details_are_readable_and_targets_link(trail: list[AuditEvent], personas: Personas) -> None:
    html = signed_in(personas, "admin").get(url(personas)).content.decode()
    assert "fields: password" in html and "['password']" not in html
    assert "results: 1 failed, 4 installed" in html and "{'installed'" not in html
    assert "overwrite: no" in html
    assert f'href="/orgs/{personas.org.pk}/secrets/{"a" * 64}/"' in html
    # A deleted secret and a deleted cluster are named without a dead link.
    assert "<strong>old-api</strong>" in html and f"secrets/{'b' * 64}/" not in html
    assert "clusters/999/" not in html
    assert "When (UTC)" in html and 'class="nowrap"' in html and "theirs" not in html


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("?actor=mike", {"secret.read", "cluster.install"}, {"secret.create", "secret.delete"}),
        ("?target=payments", {"secret.create", "secret.read"}, {"cluster.install"}),
        ("?kind=cluster.", {"cluster.install"}, {"secret.read"}),
        ("?kind=secret.&actor=alice", {"secret.create", "secret.delete"}, {"secret.read"}),
    ],
)
def test_filters_narrow_the_trail(
    trail: list[AuditEvent], personas: Personas, query: str, shown: set[str], hidden: set[str]
) -> None:
    html = signed_in(personas, "admin").get(url(personas, query)).content.decode()
    for action in shown:
        assert f">{action}</code>" in html, (query, action)
    for action in hidden:
        assert f">{action}</code>" not in html, (query, action)


def test_date_range_includes_both_ends_and_bad_dates_are_errors(
    trail: list[AuditEvent], personas: Personas
) -> None:
    client = signed_in(personas, "admin")
    day = trail[1].created_at.date().isoformat()
    html = client.get(url(personas, f"?since={day}&until={day}")).content.decode()
    assert ">secret.read</code>" in html and ">secret.create</code>" not in html
    assert f'value="{day}"' in html  # the form keeps the range: the URL is the bookmark
    bad = client.get(url(personas, "?since=yesterday"))
    assert bad.status_code == 400 and "Give a date as YYYY-MM-DD." in bad.content.decode()
    backwards = client.get(url(personas, "?since=2030-01-02&until=2030-01-01"))
    assert backwards.status_code == 400
    assert "The end date comes before the start date." in backwards.content.decode()
    unknown = client.get(url(personas, "?kind=bogus"))
    assert unknown.status_code == 400 and "Choose what to show" in unknown.content.decode()


def test_exports_carry_the_filtered_trail(trail: list[AuditEvent], personas: Personas) -> None:
    client = signed_in(personas, "admin")
    page = client.get(url(personas, "?actor=mike")).content.decode()
    assert "?actor=mike&amp;export=csv" in page and "?actor=mike&amp;export=json" in page
    response = client.get(url(personas, "?actor=mike&export=json"))
    assert response["Content-Disposition"].endswith('.json"')
    records = json.loads(streamed(response))
    assert [r["action"] for r in records] == ["cluster.install", "secret.read"]
    assert records[1]["detail"] == {"version": 2, "fields": ["password"]}
    assert set(records[0]) == {
        "time",
        "actor",
        "action",
        "targetType",
        "targetId",
        "targetName",
        "detail",
    }
    csv_response = client.get(url(personas, "?kind=secret.&export=csv"))
    assert csv_response["Content-Type"].startswith("text/csv")
    text = streamed(csv_response).decode()
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][0] == "time" and [row[2] for row in lines[1:]] == [
        "secret.delete",
        "secret.read",
        "secret.create",
    ]
    assert "fields: password" in text and "theirs" not in text


def test_an_export_cell_never_starts_a_formula(personas: Personas) -> None:
    audit.record(
        organization=personas.org,
        actor="=cmd|' /C calc'!A0",
        action="signin",
        target_type="user",
        target_name="@sum",
    )
    response = signed_in(personas, "admin").get(url(personas, "?export=csv"))
    text = streamed(response).decode()
    assert "'=cmd" in text and "'@sum" in text
