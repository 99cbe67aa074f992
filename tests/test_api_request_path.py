"""The API's per-request path: answers built without a serializer instance equal the
serializers' (which the OpenAPI document describes), the token, its user and membership come
from one statement, "last used" is written at most once a minute, and the statements of a
read of values stay few."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.authentication import LAST_USED_RESOLUTION, token_lookup
from audit.models import AuditEvent
from orgs.models import ApiToken
from orgs.services import token_create
from pipeline_secrets.core.errors import NotFoundError
from secrets_app import selectors, services
from secrets_app.api.serializers import (
    SecretCreatedSerializer,
    SecretItemSerializer,
    secret_created_data,
    secret_item_data,
)
from secrets_app.models import SecretIndex, SecretLifecycle
from secrets_app.types import Context

pytestmark = pytest.mark.django_db


def _secret(personas, name: str = "db") -> SecretIndex:
    return services.secret_create(
        actor=personas.member,
        organization=personas.org,
        name=name,
        type="generic",
        values={"USER": "u", "PASSWORD": "p"},
        tags=["team:a", "env:prod"],
        ctx=Context(verify_remote=False),
    ).row


def test_item_data_equals_the_serializer_with_and_without_values_and_rotation(vault, personas):
    row = _secret(personas)
    fresh = selectors.secret_row(organization=personas.org, secret_id=row.secret_id)
    values = {"USER": "u", "PASSWORD": "p"}
    assert secret_item_data(fresh) == SecretItemSerializer(row).data
    context = {"values": {row.secret_id: values}}
    assert secret_item_data(fresh, values) == SecretItemSerializer(row, context=context).data

    now = timezone.now()
    SecretLifecycle.objects.create(
        organization=personas.org,
        secret=row,
        rotate_every=timedelta(days=1, hours=12),
        next_rotation_at=now + timedelta(days=1),
        last_rotated_at=now,
        last_rotated_by="system",
        last_error="it failed",
    )
    SecretIndex.objects.filter(pk=row.pk).update(expires_at=now + timedelta(days=30))
    fresh = selectors.secret_row(organization=personas.org, secret_id=row.secret_id)
    orm = SecretIndex.objects.select_related("lifecycle").get(pk=row.pk)
    assert fresh.lifecycle.rotate_every == timedelta(days=1, hours=12)
    assert secret_item_data(fresh) == SecretItemSerializer(orm).data
    assert secret_item_data(fresh)["rotation"]["every"] == "1d12h"
    generated = {"PASSWORD": "generated"}
    expected = SecretCreatedSerializer(orm, context={"generated": generated}).data
    assert secret_created_data(fresh, generated) == expected


def test_secret_row_is_the_orm_row_of_its_org_only(vault, personas):
    row = _secret(personas)
    fresh = selectors.secret_row(organization=personas.org, secret_id=row.secret_id)
    orm = SecretIndex.objects.get(pk=row.pk)
    fields = [f.attname for f in SecretIndex._meta.concrete_fields]
    assert [getattr(fresh, f) for f in fields] == [getattr(orm, f) for f in fields]
    with pytest.raises(NotFoundError):
        selectors.secret_row(organization=personas.other_org, secret_id=row.secret_id)


def test_token_with_its_user_then_the_membership_with_its_org_are_two_statements(personas):
    _token, raw = token_create(user=personas.member, name="t")
    with CaptureQueriesContext(connection) as queries:
        found = token_lookup(raw, personas.org.pk)
        assert found is not None
        assert found.user == personas.member
        assert found.membership_of is not None
        org_id, membership = found.membership_of
        assert org_id == personas.org.pk and membership is not None
        assert membership.role == "member" and membership.organization.name == "org-a"
        assert membership.user.username == found.user.username  # no third statement
    assert len(queries) == 2
    found = token_lookup(raw, personas.other_org.pk)
    assert found is not None and found.membership_of == (personas.other_org.pk, None)
    assert token_lookup(raw + "x", personas.org.pk) is None


def test_last_used_is_written_at_most_once_a_minute(vault, personas, clients):
    client = clients["member"]
    url = f"/api/v1/orgs/{personas.org.pk}/secrets"
    token = ApiToken.objects.get(user=personas.member)
    assert client.get(url).status_code == 200
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    assert client.get(url).status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    stale = timezone.now() - LAST_USED_RESOLUTION - timedelta(seconds=1)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=stale)
    assert client.get(url).status_code == 200
    written = ApiToken.objects.get(pk=token.pk).last_used_at
    assert written is not None and written > stale


def test_a_read_of_values_is_five_statements_and_audited(vault, personas, clients):
    row = _secret(personas)
    client = clients["member"]
    url = f"/api/v1/orgs/{personas.org.pk}/secrets/{row.secret_id}"
    assert client.get(url).status_code == 200  # "last used" written on the first call
    before = AuditEvent.objects.filter(action="secret.read").count()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200 and response.json()["values"]["PASSWORD"] == "p"
    # token + user; membership + org; index row + lifecycle; the audit event; the org's
    # notification targets (one may have ticked "values read")
    assert len(queries) == 5, [q["sql"][:60] for q in queries]
    assert AuditEvent.objects.filter(action="secret.read").count() == before + 1


def test_a_token_request_skips_sessions_but_keeps_every_protective_header(personas, clients):
    from csp.utils import build_policy

    response = clients["member"].get("/api/v1/orgs")
    assert response.status_code == 200
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies
    assert "Cookie" not in response.get("Vary", "")
    assert response["Content-Security-Policy"] == build_policy()
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"] and response["Pragma"] == "no-cache"
    assert response["Expires"]


def test_a_session_still_reaches_the_api_and_pages_keep_their_policy(personas):
    from csp.utils import build_policy
    from django.test import Client

    client = Client()
    client.force_login(personas.member)
    response = client.get("/api/v1/orgs")
    assert response.status_code == 200 and response.json()[0]["name"] == "org-a"
    page = client.get(f"/orgs/{personas.org.pk}/secrets/")
    assert page.status_code == 200
    assert page["Content-Security-Policy"] == build_policy()
    assert "no-store" in page["Cache-Control"]


def test_a_bad_token_is_refused_with_a_problem_document(personas):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer pst_not-a-token")
    response = client.get(f"/api/v1/orgs/{personas.org.pk}/secrets")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
