"""The organization's sign-in settings page: GitHub link and LDAP group mappings (admins)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import GitHubLink, GroupMapping
from tests.conftest import Personas
from tests.test_dashboard import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def operator_trusts(settings) -> None:
    settings.GITHUB_TRUSTED_ORGS = ["acme-gh", "acme"]
    settings.LDAP_TRUSTED_GROUPS = ["g-*", "ops"]


def expected(persona: str) -> int:
    return {"admin": 200, "member": 403, "viewer": 403, "outsider": 404}[persona]


@pytest.mark.parametrize("persona", ["admin", "member", "viewer", "outsider", "anonymous"])
def test_sign_in_settings_by_persona(personas: Personas, persona: str) -> None:
    base = f"/orgs/{personas.org.pk}/settings/"
    client = Client() if persona == "anonymous" else signed_in(personas, persona)
    page = client.get(base)
    groups = client.post(f"{base}groups/", {"group": f"g-{persona}", "role": "member"})
    link = client.post(f"{base}github/", {"github_org": "acme-gh", "default_role": "viewer"})
    if persona == "anonymous":
        assert page.status_code == groups.status_code == link.status_code == 302
        assert not GroupMapping.objects.exists() and not GitHubLink.objects.exists()
        return
    if persona == "admin":
        assert page.status_code == 200 and groups.status_code == link.status_code == 302
        mapping = GroupMapping.objects.get()
        assert (mapping.group, mapping.role, mapping.organization) == (
            "g-admin",
            "member",
            personas.org,
        )
        assert GitHubLink.objects.get().github_org == "acme-gh"
        delete = client.post(f"{base}groups/{mapping.pk}/delete/")
        assert delete.status_code == 302 and not GroupMapping.objects.exists()
        return
    assert page.status_code == groups.status_code == link.status_code == expected(persona)
    assert not GroupMapping.objects.exists() and not GitHubLink.objects.exists()


def test_another_orgs_mapping_is_not_found(personas: Personas) -> None:
    outsider = signed_in(personas, "outsider")
    outsider.post(
        f"/orgs/{personas.other_org.pk}/settings/groups/", {"group": "ops", "role": "admin"}
    )
    mapping = GroupMapping.objects.get()
    admin = signed_in(personas, "admin")
    response = admin.post(f"/orgs/{personas.org.pk}/settings/groups/{mapping.pk}/delete/")
    assert response.status_code == 404 and GroupMapping.objects.filter(pk=mapping.pk).exists()


@pytest.mark.parametrize(
    "path, data, field",
    [
        ("groups/", {"group": "  ", "role": "member"}, "group"),
        ("groups/", {"group": "ops", "role": "boss"}, "role"),
        ("github/", {"github_org": "bad org!", "default_role": "viewer"}, "github_org"),
        (
            "github/",
            {"github_org": "acme", "default_role": "viewer", "team_roles": "devs=boss"},
            "team_roles",
        ),
    ],
)
def test_bad_settings_name_the_field_and_save_nothing(
    personas: Personas, path: str, data: dict[str, str], field: str
) -> None:
    admin = signed_in(personas, "admin")
    response = admin.post(f"/orgs/{personas.org.pk}/settings/{path}", data)
    assert response.status_code == 400
    form = response.context["group_form" if "groups" in path else "github_form"]
    assert form.errors[field]
    assert not GroupMapping.objects.exists() and not GitHubLink.objects.exists()
