"""password and htpasswd: generation from specs with a cryptographic RNG, bcrypt cost 10."""

from __future__ import annotations

import string
from random import Random

import bcrypt
import pytest
from django.core.exceptions import ValidationError

from secrets_app.types import Context, get_type
from secrets_app.types.password import ALPHABETS, generate_password, spec_of

PINNED = Context(rng=Random(7))


def test_default_password_is_at_least_16_alphanumerics_from_a_system_rng():
    prepared = get_type("password").clean({"username": "app"}, Context())
    password = prepared.values["password"]
    assert len(password) >= 16 and set(password) <= set(string.ascii_letters + string.digits)
    assert prepared.generated == {"password": password}
    assert Context().rng.__class__.__name__ == "SystemRandom"
    other = get_type("password").clean({"username": "app"}, Context()).values["password"]
    assert other != password


@pytest.mark.parametrize("method", sorted(ALPHABETS))
def test_spec_method_and_length(method):
    prepared = get_type("password").clean({"username": "u", "password": f"{method},40"}, Context())
    password = prepared.values["password"]
    assert len(password) == 40 and set(password) <= set(ALPHABETS[method])


@pytest.mark.parametrize("method", sorted(ALPHABETS))
def test_a_generated_password_uses_its_whole_alphabet_so_rotation_keeps_it(method):
    # Short passwords are the likeliest to miss a class (four alphanumerics have no digit
    # about half the time); each must read back as the spec it was made with.
    rng = Random(7)
    for _ in range(500):
        password = generate_password(rng, method, 4)
        assert len(password) == 4 and spec_of(password) == (method, 4)


def test_pinned_rng_gives_repeatable_passwords():
    one = get_type("password").clean({"username": "u"}, Context(rng=Random(7))).values
    two = get_type("password").clean({"username": "u"}, Context(rng=Random(7))).values
    assert one == two


def test_given_password_is_kept_and_not_reported_as_generated():
    prepared = get_type("password").clean({"username": "u", "password": "mine-123"}, PINNED)
    assert prepared.values["password"] == "mine-123" and prepared.generated == {}


@pytest.mark.parametrize("spec", ["randAlphaNum,x", "randAlpha,2", "randNumeric,5000"])
def test_bad_spec_is_a_field_error(spec):
    with pytest.raises(ValidationError) as info:
        get_type("password").clean({"username": "u", "password": spec}, PINNED)
    assert "values.password" in info.value.message_dict


def test_htpasswd_stores_a_bcrypt_cost_10_hash_beside_the_generated_password():
    prepared = get_type("htpasswd").clean({"username": "web"}, Context())
    password = prepared.generated["password"]
    assert set(prepared.values) == {"username", "password", "htpasswd"}
    assert prepared.values["password"] == password
    user, _, hashed = prepared.values["htpasswd"].partition(":")
    assert user == "web" and hashed.startswith("$2y$10$")
    assert bcrypt.checkpw(password.encode(), ("$2b$" + hashed[4:]).encode())
    assert not bcrypt.checkpw(b"wrong", ("$2b$" + hashed[4:]).encode())


def test_htpasswd_with_given_password_generates_nothing_visible():
    prepared = get_type("htpasswd").clean({"username": "web", "password": "pw-given"}, PINNED)
    assert prepared.generated == {}
    hashed = prepared.values["htpasswd"].split(":", 1)[1]
    assert bcrypt.checkpw(b"pw-given", ("$2b$" + hashed[4:]).encode())


def test_htpasswd_update_with_stored_line_keeps_it():
    line = get_type("htpasswd").clean({"username": "web", "password": "pw"}, PINNED).values
    again = get_type("htpasswd").clean(dict(line), PINNED)
    assert again.values == line and again.generated == {}


@pytest.mark.parametrize(
    "values, field",
    [
        ({"username": "a:b"}, "values.username"),
        ({"username": "web", "htpasswd": "other:$2y$10$" + "a" * 53}, "values.htpasswd"),
        ({"username": "web", "htpasswd": "web:plaintext"}, "values.htpasswd"),
        ({}, "values.username"),
    ],
)
def test_htpasswd_bad_input_names_the_field(values, field):
    with pytest.raises(ValidationError) as info:
        get_type("htpasswd").clean(values, PINNED)
    assert field in info.value.message_dict
