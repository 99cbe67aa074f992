"""The edges of the product replayed against it served for real: failed logins counted once
per account across processes and restarts, bodies too deep or too large, and times outside
what the database holds."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from clusters.forms import parse_mapping
from orgs import services as org_services
from orgs.models import User
from secrets_app.models import SecretIndex
from tests.conftest import Personas, VaultServer
from tests.helpers import secret_values
from tests.live_app import LiveApp, live_app
from tests.test_dashboard import signed_in
from tests.test_dashboard_secrets import HTMX, create

PASSWORD = "correct horse battery"
LOCKED = "Too many failed login attempts"
LIMIT = 4


def sign_in(app: LiveApp, login: str, password: str) -> requests.Response:
    """One sign-in through the login form, as a browser sends it (with its CSRF token)."""
    with requests.Session() as browser:
        browser.get(f"{app.url}/accounts/login/", timeout=30).raise_for_status()
        return browser.post(
            f"{app.url}/accounts/login/",
            data={
                "login": login,
                "password": password,
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
            headers={"Referer": f"{app.url}/accounts/login/"},
            allow_redirects=False,
            timeout=30,
        )


def account(username: str, email: str) -> User:
    """An account whose password hash any process checks quickly (few PBKDF2 rounds)."""
    user = User.objects.create(username=username, email=email)
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, f"salt{username}", iterations=1000)
    user.save(update_fields=["password"])
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


@pytest.fixture
def shared_cache() -> Iterator[None]:
    # The cache is a table, which a transactional test's flush leaves alone.
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db(transaction=True)
def test_failed_logins_are_counted_once_across_processes_and_restarts(
    tmp_path: Path, shared_cache: None
) -> None:
    account("Vera", "vera@example.com")
    account("mike", "mike@example.com")
    env = {"LOGIN_FAILURES_ALLOWED": str(LIMIT), "LOGIN_LOCKOUT_SECONDS": "600"}
    # The same account, typed each way allauth accepts it.
    spellings = ["vera", "VERA@example.com", "Vera", "vera@EXAMPLE.com"]
    with live_app(tmp_path / "a", env) as first, live_app(tmp_path / "b", env) as second:
        for attempt in range(LIMIT):
            app = (first, second)[attempt % 2]
            wrong = sign_in(app, spellings[attempt % len(spellings)], "wrong password")
            assert wrong.status_code == 200 and LOCKED not in wrong.text
        # Each process saw half of the failures; the account is locked on both.
        for app in (first, second):
            refused = sign_in(app, "vera", PASSWORD)
            assert refused.status_code == 200 and LOCKED in refused.text
        assert sign_in(first, "mike", PASSWORD).status_code == 302
    # A restart keeps the count.
    with live_app(tmp_path / "c", env) as restarted:
        refused = sign_in(restarted, "Vera@example.com", PASSWORD)
        assert refused.status_code == 200 and LOCKED in refused.text
        assert sign_in(restarted, "MIKE", PASSWORD).status_code == 302


# --------------------------------------------------------------------------- bad input


@pytest.fixture
def served(tmp_path: Path) -> Iterator[LiveApp]:
    """The product under gunicorn, with an empty directory of its own for temporary files."""
    (tmp_path / "spool").mkdir()
    with live_app(tmp_path, {"TMPDIR": str(tmp_path / "spool")}) as app:
        yield app


def api(app: LiveApp, personas: Personas) -> requests.Session:
    session = requests.Session()
    _, raw = org_services.token_create(user=personas.member, name="edge")
    session.headers["Authorization"] = f"Bearer {raw}"
    session.headers["Accept"] = "application/json"
    return session


def problem(response: requests.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text[:500]
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_a_body_nested_100k_deep_is_a_400_problem(
    served: LiveApp, personas: Personas, opening: str
) -> None:
    session = api(served, personas)
    url = f"{served.url}/api/v1/orgs/{personas.org.pk}/secrets"
    deep = opening * 100_000
    response = session.post(url, data=deep, headers={"Content-Type": "application/json"})
    body = problem(response, 400)
    assert "Nested deeper than" in str(body["detail"])
    # Still deep, but well-formed and closed: refused the same way, nothing written.
    closed = "[" * 1000 + "]" * 1000
    response = session.post(url, data=closed, headers={"Content-Type": "application/json"})
    assert "Nested deeper than" in str(problem(response, 400)["detail"])
    assert not SecretIndex.objects.exists()
    # The process is fine: an ordinary bad body is answered as before.
    response = session.post(url, json={"name": "x"})
    assert problem(response, 400)["errors"] == {"type": ["This field is required."]}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "99999999999d",
        "999999999999999999h",
    ],
)
def test_times_outside_what_the_database_holds_are_field_errors(
    served: LiveApp, personas: Personas, value: str
) -> None:
    session = api(served, personas)
    url = f"{served.url}/api/v1/orgs/{personas.org.pk}/secrets"
    body = problem(session.get(url, params={"expiresBefore": value}), 400)
    assert list(body["errors"]) == ["expiresBefore"]  # type: ignore[call-overload]
    # The first and last instants a column holds are answered.
    for edge in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59+00:00"):
        assert session.get(url, params={"expiresBefore": edge}).status_code == 200


@pytest.mark.django_db
def test_pages_parsing_json_refuse_deep_documents_as_form_errors(
    vault: VaultServer, personas: Personas
) -> None:
    client = signed_in(personas, "member")
    pasted = {"name": "gcp", "type": "google", "json_text": "[" * 100_000}
    response = create(client, personas, pasted, headers=HTMX)
    slot = response.content.decode().split('id="id_json_text_error"')[1].split("</div>")[0]
    assert "Nested deeper than" in slot
    assert not SecretIndex.objects.exists()
    # The install form's key mapping, as a JSON spec or as one KEY={...} line.
    with pytest.raises(ValueError, match="Not a valid JSON object"):
        parse_mapping('{"a":' * 100_000)
    with pytest.raises(ValueError, match="Line 2: not a valid JSON object"):
        parse_mapping('A=field\nB={"a":' + '{"b":' * 100_000)


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["until=9999-12-31", "since=0001-01-01"])
def test_activity_dates_at_the_ends_of_the_calendar_are_field_errors(
    personas: Personas, query: str
) -> None:
    response = signed_in(personas, "admin").get(f"/orgs/{personas.org.pk}/activity/?{query}")
    assert response.status_code == 400
    assert "Give a date from 0001-01-02 to 9999-12-30." in response.content.decode()


@pytest.mark.django_db
def test_the_largest_legitimate_page_body_is_accepted(
    vault: VaultServer, personas: Personas
) -> None:
    """Values near what one OpenBao write takes (it refuses 500 KB) plus a key file at its
    64 KiB limit, as multipart: well within the pages' cap."""
    block = "".join(f"K{i}={'v' * 1000}\n" for i in range(300))
    upload = SimpleUploadedFile("key.json", b" " * (64 * 1024 - 1), "application/json")
    data = {"name": "big", "type": "generic", "env_block": block, "json_file": upload}
    response = signed_in(personas, "member").post(f"/orgs/{personas.org.pk}/secrets/new/", data)
    assert response.status_code == 302, response.content[:300]
    assert len(secret_values(row=SecretIndex.objects.get(name="big"))) == 300


def multipart_head(path: str, length: int | None) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=XyZ\r\n"
        f"{framing}\r\n\r\n"
    ).encode()


FILE_PART = (
    b'--XyZ\r\nContent-Disposition: form-data; name="f"; filename="big.bin"\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n"
)
EIGHT_MB = 8 * 1024 * 1024


def answer_while_sending(app: LiveApp, head: bytes, sent: list[bytes], spool: Path) -> bytes:
    """Send ``head`` and the ``sent`` pieces of a body that is never finished; the answer
    must come anyway, and no temporary file may appear meanwhile."""
    with socket.create_connection(("127.0.0.1", app.port), timeout=10) as sock:
        sock.sendall(head)
        try:
            for piece in sent:
                sock.sendall(piece)
        except OSError:
            pass  # the server answered and closed: nothing more is read
        time.sleep(0.5)
        assert list(spool.iterdir()) == []
        sock.settimeout(10)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/setup/", "/orgs/1/secrets/new/", "/api/v1/orgs/1/secrets"]
)
def test_an_8mb_multipart_post_is_413_before_anything_is_spooled(
    served: LiveApp, tmp_path: Path, path: str
) -> None:
    body_start = FILE_PART + b"x" * (1024 * 1024)
    answer = answer_while_sending(
        served, multipart_head(path, EIGHT_MB), [body_start], tmp_path / "spool"
    )
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


@pytest.mark.django_db(transaction=True)
def test_a_chunked_body_is_counted_while_it_is_read(served: LiveApp, tmp_path: Path) -> None:
    piece = b"x" * 16384
    chunks = [b"%x\r\n%s\r\n" % (len(FILE_PART), FILE_PART)]
    chunks += [b"%x\r\n%s\r\n" % (len(piece), piece)] * 64  # 1 MiB, never finished
    answer = answer_while_sending(
        served, multipart_head("/accounts/login/", None), chunks, tmp_path / "spool"
    )
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    # Within the limit, a chunked body is read as if its length had been declared.
    token = "a" * 32
    account("carl", "carl@example.com")
    form = f"login=carl&password=correct+horse+battery&csrfmiddlewaretoken={token}".encode()
    signed_in = requests.post(
        f"{served.url}/accounts/login/",
        data=iter([form[:20], form[20:]]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        cookies={"csrftoken": token},
        allow_redirects=False,
        timeout=30,
    )
    assert signed_in.status_code == 302, signed_in.text[:500]
