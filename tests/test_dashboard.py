"""The HTML dashboard: signing in, the organizations page and an organization's secrets."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import Personas, VaultServer

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # the personas' password, see conftest.make_user
LOGIN = "/accounts/login/"


class FormScan(HTMLParser):
    """Collects the ``<label for>`` targets and the ``<input>`` attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.label_targets: set[str] = set()
        self.inputs: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "label" and values.get("for"):
            self.label_targets.add(str(values["for"]))
        if tag == "input" and values.get("name"):
            self.inputs[str(values["name"])] = values


def scan(html: str) -> FormScan:
    parser = FormScan()
    parser.feed(html)
    return parser


def secrets_page(org_id: int) -> str:
    return f"/orgs/{org_id}/secrets/"


def signed_in(personas: Personas, persona: str) -> Client:
    client = Client()
    client.force_login(personas.user(persona))
    return client


def test_login_page_has_labelled_inputs_and_a_csrf_token(personas: Personas) -> None:
    response = Client().get(LOGIN)
    assert response.status_code == 200
    page = scan(response.content.decode())
    for name, kind in (("login", None), ("password", "password")):
        field = page.inputs[name]
        assert field.get("id") in page.label_targets, (name, field)
        assert field.get("type") == kind
    assert page.inputs["csrfmiddlewaretoken"]["type"] == "hidden"
    assert page.inputs["csrfmiddlewaretoken"]["value"]


def test_login_needs_the_csrf_token_and_then_redirects_home(personas: Personas) -> None:
    client = Client(enforce_csrf_checks=True)
    credentials = {"login": "vera", "password": PASSWORD}
    assert client.post(LOGIN, credentials).status_code == 403

    token = scan(client.get(LOGIN).content.decode()).inputs["csrfmiddlewaretoken"]["value"]
    response = client.post(LOGIN, {**credentials, "csrfmiddlewaretoken": token})
    # The landing page sends vera on to her only organization.
    assert response.status_code == 302 and response["Location"] == "/signed-in/"
    home = client.get("/signed-in/", follow=True)
    assert home.status_code == 200 and "vera" in home.content.decode()
    assert home.redirect_chain[-1][0] == f"/orgs/{personas.org.pk}/secrets/"


def test_a_wrong_password_shows_an_error_and_signs_nobody_in(personas: Personas) -> None:
    client = Client()
    response = client.post(LOGIN, {"login": "vera", "password": "wrong"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert client.get("/").status_code == 302


def test_login_honours_next(personas: Personas) -> None:
    target = secrets_page(personas.org.pk)
    response = Client().post(
        f"{LOGIN}?next={target}", {"login": "mike", "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302 and response["Location"] == target


def test_home_lists_the_users_orgs_only(personas: Personas) -> None:
    response = signed_in(personas, "viewer").get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "org-a" in html and f'href="{secrets_page(personas.org.pk)}"' in html
    assert "org-b" not in html and secrets_page(personas.other_org.pk) not in html

    outsider = signed_in(personas, "outsider").get("/").content.decode()
    assert "org-b" in outsider and "org-a" not in outsider


def test_home_needs_a_login(db: None) -> None:
    response = Client().get("/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_secrets_page_by_persona(personas: Personas) -> None:
    url = secrets_page(personas.org.pk)
    for persona in ("admin", "member", "viewer"):
        response = signed_in(personas, persona).get(url)
        assert response.status_code == 200, persona
        assert "org-a" in response.content.decode()
    assert signed_in(personas, "outsider").get(url).status_code == 404
    assert signed_in(personas, "admin").get(secrets_page(personas.other_org.pk)).status_code == 404
    assert signed_in(personas, "admin").get(secrets_page(987654)).status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"{LOGIN}?next={url}"


def test_secrets_page_lists_names_and_tags_but_never_values(
    vault: VaultServer, personas: Personas, clients: dict[str, APIClient]
) -> None:
    value = "zq-Distinctive-Value-5521"
    created = clients["member"].post(
        f"/api/v1/orgs/{personas.org.pk}/secrets",
        {
            "name": "payments-db",
            "type": "generic",
            "values": {"password": value},
            "tags": ["env:prod", "repo:payments"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    theirs = clients["outsider"].post(
        f"/api/v1/orgs/{personas.other_org.pk}/secrets",
        {"name": "oscars-secret", "type": "generic", "values": {"k": "v"}},
        format="json",
    )
    assert theirs.status_code == 201, theirs.content

    for persona in ("member", "viewer"):
        html = signed_in(personas, persona).get(secrets_page(personas.org.pk)).content.decode()
        assert "payments-db" in html
        assert "env:prod" in html and "repo:payments" in html
        assert value not in html
        assert "oscars-secret" not in html
