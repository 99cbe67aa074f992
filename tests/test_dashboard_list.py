"""The secrets list page: filters, chips, pagination, expiry badges, htmx partials, queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orgs.models import Organization
from secrets_app.models import SecretIndex, SecretTag
from tests.conftest import Personas
from tests.test_dashboard import signed_in

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def add_rows(org: Organization, count: int, *, start: int = 0, **fields: object) -> None:
    """Index rows straight into the table: the list reads only the index, never Vault."""
    now = timezone.now()
    defaults: dict[str, object] = {
        "type": "password",
        "tags": ["env:prod", "repo:payments"],
        "version": 1,
        "updated_by": "alice",
        "updated_at": now,
    }
    defaults.update(fields)
    rows = SecretIndex.objects.bulk_create(
        SecretIndex(organization=org, secret_id=f"{i:064x}", name=f"secret-{i:04d}", **defaults)
        for i in range(start, start + count)
    )
    tags: list[str] = list(defaults["tags"])  # type: ignore[call-overload]
    SecretTag.objects.bulk_create(
        SecretTag(organization=org, secret=row, tag=tag) for row in rows for tag in tags
    )


def list_url(personas: Personas) -> str:
    return f"/orgs/{personas.org.pk}/secrets/"


def names_in(html: str, candidates: list[str]) -> set[str]:
    return {name for name in candidates if f">{name}</a>" in html}


def test_filters_by_type_tags_and_name(personas: Personas) -> None:
    add_rows(personas.org, 2, tags=["env:prod"])
    add_rows(personas.org, 2, start=10, type="generic", tags=["env:prod", "team:web"])
    add_rows(personas.org, 2, start=20, type="generic", tags=["env:dev"])
    client = signed_in(personas, "viewer")
    every = [f"secret-{i:04d}" for i in (0, 1, 10, 11, 20, 21)]

    def shown(query: str) -> set[str]:
        response = client.get(list_url(personas) + query)
        assert response.status_code == 200
        return names_in(response.content.decode(), every)

    assert shown("") == set(every)
    assert shown("?type=generic") == {"secret-0010", "secret-0011", "secret-0020", "secret-0021"}
    assert shown("?tag=env:prod") == {"secret-0000", "secret-0001", "secret-0010", "secret-0011"}
    assert shown("?tag=env:prod&tag=team:web") == {"secret-0010", "secret-0011"}
    assert shown("?type=password&tag=team:web") == set()
    assert shown("?q=0021") == {"secret-0021"}
    # Search covers tags too.
    assert shown("?q=team:w") == {"secret-0010", "secret-0011"}
    assert shown("?q=ENV:DEV") == {"secret-0020", "secret-0021"}


@pytest.mark.parametrize(
    ("query", "control", "message"),
    [
        ("?type=bogus", "filter-type", "There is no type named \u201cbogus\u201d"),
        ("?sort=colour", "filter-sort", "Sort by name, type, updated or expiry"),
        ("?per=7", "filter-per", "Show 25, 50, 100, 200 a page"),
        ("?per=x", "filter-per", "Show 25, 50, 100, 200 a page"),
    ],
)
def test_unknown_type_sort_or_page_size_is_an_error_on_its_control(
    personas: Personas, query: str, control: str, message: str
) -> None:
    add_rows(personas.org, 2)
    response = signed_in(personas, "viewer").get(list_url(personas) + query)
    html = response.content.decode()
    assert response.status_code == 400
    assert f'id="{control}" name=' in html and 'aria-invalid="true"' in html
    assert f'<p class="error" id="{control}-error">{message}' in html
    assert "The list cannot be shown" in html
    # Nothing is listed as if the bad filter had been applied.
    assert 'class="secret-link"' not in html


def test_total_count_and_sorting_by_each_column(personas: Personas) -> None:
    now = timezone.now()
    for i, (name, kind, days, expires) in enumerate(
        [("bravo", "tls", 3, 20), ("alpha", "password", 1, None), ("charlie", "generic", 2, 5)]
    ):
        SecretIndex.objects.create(
            organization=personas.org,
            secret_id=f"{i:064x}",
            name=name,
            type=kind,
            tags=[],
            version=1,
            updated_at=now - timedelta(days=days),
            expires_at=now + timedelta(days=expires) if expires else None,
        )
    client = signed_in(personas, "viewer")

    def order(query: str) -> list[str]:
        html = client.get(list_url(personas) + query).content.decode()
        assert "<strong>3</strong> secrets" in html
        return [
            n
            for _, n in sorted((html.index(f">{n}</a>"), n) for n in ("alpha", "bravo", "charlie"))
        ]

    assert order("") == ["alpha", "bravo", "charlie"]
    assert order("?sort=-name") == ["charlie", "bravo", "alpha"]
    assert order("?sort=type") == ["charlie", "alpha", "bravo"]
    assert order("?sort=-updated") == ["alpha", "charlie", "bravo"]
    assert order("?sort=updated") == ["bravo", "charlie", "alpha"]
    # No expiry sorts last both ways.
    assert order("?sort=expiry") == ["charlie", "bravo", "alpha"]
    assert order("?sort=-expiry") == ["bravo", "charlie", "alpha"]
    html = client.get(list_url(personas) + "?sort=expiry").content.decode()
    assert 'aria-sort="ascending"' in html and "?sort=-expiry" in html


def test_page_size_and_order_survive_paging(personas: Personas) -> None:
    add_rows(personas.org, 60)
    client = signed_in(personas, "viewer")
    html = client.get(list_url(personas) + "?per=25&sort=-name").content.decode()
    assert html.count('class="secret-link"') == 25 and "Page 1 of 3" in html
    assert "?sort=-name&amp;per=25&amp;page=2" in html
    assert html.index("secret-0059") < html.index("secret-0058")
    assert "<strong>60</strong> secrets" in html


def test_chips_link_to_the_filter_they_add_keeping_the_others(personas: Personas) -> None:
    add_rows(personas.org, 1, type="generic", tags=["env:prod", "team:web"])
    html = signed_in(personas, "viewer").get(list_url(personas) + "?q=secret&type=generic")
    page = html.content.decode()
    assert (
        f'href="/orgs/{personas.org.pk}/secrets/?q=secret&amp;type=generic&amp;tag=team%3Aweb"'
        in page
    )
    filtered = signed_in(personas, "viewer").get(list_url(personas) + "?tag=env:prod&tag=team:web")
    text = filtered.content.decode()
    # Each active tag can be removed on its own; the form carries the active tags along.
    assert f'href="{list_url(personas)}?tag=team%3Aweb"' in text
    assert '<input type="hidden" name="tag" value="env:prod">' in text


def test_htmx_gets_the_results_partial_with_the_filter_controls_out_of_band(
    personas: Personas,
) -> None:
    add_rows(personas.org, 3)
    client = signed_in(personas, "viewer")
    response = client.get(list_url(personas) + "?type=password", headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="secret-results"' in html
    assert 'id="filter-controls" class="filter-controls" hx-swap-oob="true"' in html
    assert "HX-Request" in response["Vary"]
    # Restoring history asks for the whole page again.
    restore = client.get(list_url(personas), headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.content.decode()
    full = client.get(list_url(personas)).content.decode()
    assert 'hx-push-url="true"' in full and "hx-swap-oob" not in full


def test_pages_of_fifty(personas: Personas) -> None:
    add_rows(personas.org, 120)
    client = signed_in(personas, "viewer")
    first = client.get(list_url(personas)).content.decode()
    assert first.count('class="secret-link"') == 50
    assert "Page 1 of 3" in first and "?page=2" in first
    last = client.get(list_url(personas) + "?page=3").content.decode()
    assert last.count('class="secret-link"') == 20 and "secret-0119" in last
    beyond = client.get(list_url(personas) + "?page=99").content.decode()
    assert "Page 3 of 3" in beyond
    filtered = client.get(list_url(personas) + "?tag=env:prod&page=2").content.decode()
    assert "?tag=env%3Aprod&amp;page=3" in filtered


def test_certificates_close_to_expiry_get_a_badge(personas: Personas) -> None:
    now = timezone.now()
    add_rows(personas.org, 1, type="tls", expires_at=now + timedelta(days=10))
    add_rows(personas.org, 1, start=1, type="tls", expires_at=now + timedelta(days=90))
    add_rows(personas.org, 1, start=2, type="tls", expires_at=now - timedelta(days=1))
    html = signed_in(personas, "viewer").get(list_url(personas)).content.decode()
    rows = html.split('class="secret-link"')[1:]
    assert "expires in 1\xa0week" in rows[0]
    assert "expires" not in rows[1] and "expired" not in rows[1]
    assert ">expired<" in rows[2]


def query_count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("?tag=env:prod", 50),
        ("?sort=-updated&per=200", 200),
        ("?sort=expiry&q=repo:pay&page=3", 50),
        ("?sort=type&type=password&per=100", 100),
    ],
)
def test_the_list_runs_a_constant_number_of_queries(
    personas: Personas, django_assert_num_queries, query: str, shown: int
) -> None:
    client = signed_in(personas, "member")
    add_rows(personas.org, 10)
    few = query_count(client, list_url(personas) + query)
    add_rows(personas.org, 990, start=10)
    with django_assert_num_queries(few):
        response = client.get(list_url(personas) + query)
    html = response.content.decode()
    assert "<strong>1000</strong> secrets" in html
    assert html.count('class="secret-link"') == shown
    assert html.count('name="id" value=') == shown


def test_empty_states_say_what_to_do_next(personas: Personas) -> None:
    member = signed_in(personas, "member").get(list_url(personas)).content.decode()
    assert "Create your first secret" in member and "/api/v1/docs" in member
    viewer = signed_in(personas, "viewer").get(list_url(personas)).content.decode()
    assert "Create your first secret" not in viewer and "New secret" not in viewer
    assert "viewer" in viewer and "member role" in viewer
    add_rows(personas.org, 1)
    none = signed_in(personas, "viewer").get(list_url(personas) + "?q=nothing-like-this")
    assert "No secret matches" in none.content.decode()


def test_other_orgs_secrets_never_show(personas: Personas) -> None:
    add_rows(personas.other_org, 1)
    html = signed_in(personas, "admin").get(list_url(personas)).content.decode()
    assert "secret-0000" not in html
    assert signed_in(personas, "outsider").get(list_url(personas)).status_code == 404
