"""The first-admin and cluster forms name every problem in one pass, each on its field
(item 5 of the dashboard's third pass)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts import first_run
from clusters.models import Cluster
from orgs.models import Organization, User
from secrets_app.models import SecretIndex
from tests.conftest import Personas, VaultServer
from tests.test_dashboard import signed_in
from tests.test_one_pass_secret_form import stored_generic

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def setup_code(settings: Any, tmp_path: Any) -> str:
    settings.SETUP_CODE_FILE = tmp_path / "setup-code"
    return first_run.new_setup_code()


def test_setup_flags_the_code_the_username_and_the_password_together(setup_code: str) -> None:
    """Item 5: a wrong code, `admin x` and a 5-character password, all flagged at once."""
    data = {
        "setup_code": "wrong-code",
        "username": "admin x",
        "password1": "short",
        "password2": "short",
        "organization": "acme",
    }
    response = Client().post("/setup/", data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"setup_code", "username", "password1"}
    assert "' '" in errors["username"][0]
    assert any("at least 8 characters" in e for e in errors["password1"])
    html = response.content.decode()
    for slot in ("id_setup_code_error", "id_username_error", "id_password1_error"):
        start = html.index(f'id="{slot}"')
        assert '<p class="error">' in html[start : html.index("</div>", start)], slot
    assert not User.objects.exists() and not Organization.objects.exists()


def test_setup_judges_the_password_while_the_code_is_missing(setup_code: str) -> None:
    """Item 5: a common password is refused even while the code is missing."""
    data = {
        "setup_code": "",
        "username": "founder",
        "password1": "password123",
        "password2": "password124",
        "organization": "acme",
    }
    errors = Client().post("/setup/", data).context["form"].errors
    assert set(errors) == {"setup_code", "password1", "password2"}


def test_setup_still_works_with_good_input(setup_code: str) -> None:
    """Item 5: the checks moved into the form refuse nothing that is right."""
    data = {
        "setup_code": setup_code,
        "username": "founder.one",
        "password1": "a-long-unusual-passphrase",
        "password2": "a-long-unusual-passphrase",
        "organization": "acme",
    }
    response = Client().post("/setup/", data)
    assert response.status_code == 302
    assert User.objects.get().username == "founder.one"


def register(personas: Personas, data: dict[str, str], **kwargs: Any) -> Any:
    client = signed_in(personas, "admin")
    return client.post(f"/orgs/{personas.org.pk}/clusters/new/", data, **kwargs)


def test_cluster_name_and_kubeconfig_are_flagged_together(personas: Personas) -> None:
    """Item 5: a bad name and an unusable kubeconfig in one submit, each on its field."""
    data = {"name": "Prod Cluster", "kubeconfig": "clusters: [unclosed", "verify": "on"}
    response = register(personas, data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"name", "kubeconfig"}
    assert "DNS-1123 label" in errors["name"][0]
    assert "YAML" in errors["kubeconfig"][0]
    assert not Cluster.objects.exists() and not SecretIndex.objects.exists()


def test_cluster_form_over_htmx_fills_both_error_slots(personas: Personas) -> None:
    """Item 5: the htmx answer fills the name's and the kubeconfig's error slots."""
    data = {"name": "-bad-", "kubeconfig": "apiVersion: v1\nkind: Config\n"}
    response = register(personas, data, headers=HTMX)
    assert response["HX-Reswap"] == "none"
    html = response.content.decode()
    for slot in ("id_name_error", "id_kubeconfig_error"):
        start = html.index(f'id="{slot}"')
        assert '<p class="error">' in html[start : html.index("</div>", start)], slot


def test_a_taken_cluster_name_and_its_kubeconfig_secret_are_named(
    vault: VaultServer, personas: Personas
) -> None:
    """Item 5: a name whose kubeconfig secret exists is flagged before anything is sent."""
    stored_generic(personas, "prod-kubeconfig")
    response = register(personas, {"name": "prod", "kubeconfig": "clusters: [unclosed"})
    errors = response.context["form"].errors
    assert set(errors) == {"name", "kubeconfig"}
    assert "'prod-kubeconfig'" in errors["name"][0]
    assert not Cluster.objects.exists()
