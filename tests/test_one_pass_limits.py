"""Nothing fails silently: an over-size form is a 413 problem the page can show, the limit is
stated on the form before it is sent (item 4), and the new-secret form's type picker groups
and explains every type and opens ready to type the name (item 8)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings

from secrets_app.forms.picker import OTHER, TYPE_GROUPS, type_groups
from secrets_app.models import SecretIndex
from secrets_app.types import REGISTRY
from tests.conftest import Personas
from tests.helpers import assert_problem
from tests.test_dashboard import signed_in

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
MIB = 1024 * 1024


def new_secret(personas: Personas, query: str = "") -> str:
    response = signed_in(personas, "member").get(f"/orgs/{personas.org.pk}/secrets/new/{query}")
    assert response.status_code == 200
    return response.content.decode()


def post_value(personas: Personas, size: int) -> Any:
    data = {"type": "generic", "name": "big", "pair_key_0": "K", "pair_value_0": "x" * size}
    client = signed_in(personas, "member")
    return client.post(f"/orgs/{personas.org.pk}/secrets/new/", data, headers=HTMX)


def test_a_body_over_the_page_limit_is_a_413_naming_both_sizes(personas: Personas) -> None:
    """Item 4: a 3 MiB value is refused with a problem that says how big and how much."""
    body = assert_problem(post_value(personas, 3 * MIB), 413)
    assert body["limit"] == settings.PAGE_MAX_BODY_BYTES and body["size"] > 3 * MIB
    assert not SecretIndex.objects.exists()


def test_fields_over_the_form_limit_are_a_413_not_a_bare_400(personas: Personas) -> None:
    """Item 4: fields between the form limit and the body limit were Django's bare 400
    (RequestDataTooBig); they are the same 413 problem."""
    response = post_value(personas, settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024)
    body = assert_problem(response, 413)
    assert body["limit"] == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert not SecretIndex.objects.exists()


def test_the_form_states_its_size_limit_before_it_is_sent(personas: Personas) -> None:
    """Item 4: the limit is on the page (in words) and on the form (for the check in the
    browser)."""
    html = new_secret(personas)
    assert f'data-max-bytes="{settings.DATA_UPLOAD_MAX_MEMORY_SIZE}"' in html
    assert "All values together: at most 1 MiB" in html


def test_every_type_is_in_one_group_of_the_picker() -> None:
    """Item 8: no type is left to "Other" or listed twice."""
    listed = [name for members in TYPE_GROUPS.values() for name, _ in members]
    assert sorted(listed) == sorted(REGISTRY)
    assert OTHER not in dict(type_groups())


def test_the_picker_explains_the_raw_names(personas: Personas) -> None:
    """Item 8: fn, pkecert and vsphere (and every other type) read with a description,
    in groups."""
    html = new_secret(personas)
    select = html[html.index('<select id="id_type"') : html.index("</select>")]
    assert select.count("<optgroup") == len(TYPE_GROUPS)
    options = dict(re.findall(r'<option value="([a-z]+)"[^>]*>([^<]+)</option>', select))
    assert sorted(options) == sorted(REGISTRY)
    assert options["fn"] == "Fn: the master token of an Fn (serverless functions) platform"
    assert "PKE Kubernetes cluster" in options["pkecert"] and "(pkecert)" in options["pkecert"]
    assert options["vsphere"].startswith("vSphere: a VMware vSphere endpoint")
    for name, text in options.items():
        assert ": " in text and len(text) > len(name) + 10, name
    assert "What each type is for" in html


def test_the_picked_type_is_selected_and_name_has_the_focus(personas: Personas) -> None:
    """Item 8: `New secret` opens with the focus in Name; the type asked for is selected."""
    html = new_secret(personas, "?type=tls")
    name = re.search(r"<input[^>]*name=\"name\"[^>]*>", html)
    assert name and "autofocus" in name.group(0)
    assert '<option value="tls" selected>' in html
    assert html.count("autofocus") == 1


def test_a_form_with_errors_does_not_take_the_focus_from_the_summary(
    personas: Personas,
) -> None:
    """Item 8: after a failed submit the error summary, not Name, is where focus goes."""
    client = signed_in(personas, "member")
    data = {"type": "generic", "name": "Bad Name", "pair_key_0": "K", "pair_value_0": "v"}
    response = client.post(f"/orgs/{personas.org.pk}/secrets/new/", data)
    assert response.status_code == 400 and "autofocus" not in response.content.decode()
