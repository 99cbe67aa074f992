"""Cloud credentials: structural checks, and the provider checks against real endpoints.

AWS runs against a moto server (a local AWS emulator) with IAM authentication on, so a key
it issued passes STS and any other is refused. Google and Azure are pointed at a closed
loopback port through their standard settings (token_uri, AZURE_AUTHORITY_HOST); a token_uri
off Google's hosts is accepted only because the operator's PROVIDER_EXTRA_ENDPOINTS allows it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ValidationError

from secrets_app.types import REGISTRY, Context
from secrets_app.types.google import service_account_json
from secrets_app.types.pem import private_pem
from tests.helpers import assert_problem
from tools.devstack.pytest_plugin import free_port

OFFLINE = Context(verify_remote=False)
ONLINE = Context()


def errors_of(type_name: str, values: dict[str, str], ctx: Context = ONLINE) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        REGISTRY[type_name].clean(values, ctx)
    return caught.value.message_dict


def url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/secrets"


def post(client: Any, org_id: int, type_name: str, values: dict[str, str], query: str = "") -> Any:
    body = {"name": f"{type_name}-creds", "type": type_name, "values": values}
    return client.post(url(org_id) + query, body, format="json")


# --- amazon ----------------------------------------------------------------------------


class Moto:
    def __init__(self, endpoint: str, key_id: str, secret: str) -> None:
        self.endpoint, self.key_id, self.secret = endpoint, key_id, secret

    def values(self, **extra: str) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.key_id, "AWS_SECRET_ACCESS_KEY": self.secret, **extra}


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    """moto_server on a free port; an IAM user's key is made, then IAM auth is switched on."""
    program = Path(sys.executable).with_name("moto_server")
    assert program.exists(), "moto_server is missing: pip install -e '.[dev]'"
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    server = subprocess.Popen(
        [str(program), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except requests.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline, "moto did not start"
                time.sleep(0.1)
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="x" * 40,
        )
        iam.create_user(UserName="pipeline")
        key = iam.create_access_key(UserName="pipeline")["AccessKey"]
        # From now on moto checks every signature against the keys IAM knows.
        requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=5).raise_for_status()
        yield Moto(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        server.terminate()
        server.wait(10)
        log.close()


@pytest.fixture
def aws(moto_server: Moto, monkeypatch: pytest.MonkeyPatch) -> Moto:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
    return moto_server


STRANGER = {"AWS_ACCESS_KEY_ID": "AKIAABCDEFGHIJKLMNOP", "AWS_SECRET_ACCESS_KEY": "S" * 40}


def test_amazon_shape():
    bad = {"AWS_ACCESS_KEY_ID": "AKIAshort", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "Mars"}
    errors = errors_of("amazon", bad, OFFLINE)
    assert set(errors) == {f"values.{k}" for k in bad}
    assert REGISTRY["amazon"].clean({**STRANGER, "AWS_REGION": "eu-west-1"}, OFFLINE).values
    assert REGISTRY["amazon"].sourcing == "env"


def test_amazon_key_accepted_by_sts(aws):
    prepared = REGISTRY["amazon"].clean(aws.values(AWS_REGION="eu-central-1"), ONLINE)
    assert prepared.values["AWS_ACCESS_KEY_ID"] == aws.key_id


def test_amazon_unknown_key_rejected(aws):
    errors = errors_of("amazon", STRANGER)
    message = errors["values.AWS_ACCESS_KEY_ID"][0]
    assert message == "AWS rejected the credentials (InvalidClientTokenId)."
    assert STRANGER["AWS_SECRET_ACCESS_KEY"] not in str(errors)


def test_amazon_wrong_secret_rejected(aws):
    wrong = "w" * 40
    errors = errors_of("amazon", {**aws.values(), "AWS_SECRET_ACCESS_KEY": wrong})
    assert "SignatureDoesNotMatch" in errors["values.AWS_SECRET_ACCESS_KEY"][0]
    assert wrong not in str(errors) and aws.secret not in str(errors)


def test_amazon_unreachable(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    errors = errors_of("amazon", STRANGER)
    assert errors["values"] == ["AWS could not be reached."]


@pytest.mark.django_db
def test_amazon_through_the_api(aws, vault, personas, clients):
    member, org = clients["member"], personas.org.pk
    created = post(member, org, "amazon", aws.values())
    assert created.status_code == 201, created.content
    detail = f"{url(org)}/{created.json()['id']}"
    assert member.get(detail).json()["values"] == aws.values()
    assert [s["name"] for s in member.get(url(org) + "?type=amazon").json()] == ["amazon-creds"]
    assert member.get(detail + "/validate").json()["valid"] is True
    assert member.delete(detail).status_code == 204
    refused = assert_problem(post(member, org, "amazon", STRANGER), 400)
    assert "AWS rejected" in refused["detail"] and "values.AWS_ACCESS_KEY_ID" in refused["errors"]
    assert STRANGER["AWS_SECRET_ACCESS_KEY"] not in str(refused)
    unchecked = post(member, org, "amazon", STRANGER, "?validate=false")
    assert unchecked.status_code == 201, unchecked.content
    stored = f"{url(org)}/{unchecked.json()['id']}"
    assert_problem(member.get(stored + "/validate"), 400, field="values.AWS_ACCESS_KEY_ID")
    assert member.get(stored + "/validate?validate=false").status_code == 200
    missing = {"AWS_ACCESS_KEY_ID": aws.key_id}
    assert_problem(post(member, org, "amazon", missing), 400, field="values.AWS_SECRET_ACCESS_KEY")
    assert_problem(
        post(member, org, "amazon", {**aws.values(), "AWS_PROFILE": "x"}),
        400,
        field="values.AWS_PROFILE",
    )


# --- google ----------------------------------------------------------------------------


def service_account(token_uri: str) -> dict[str, str]:
    return {
        "type": "service_account",
        "project_id": "pipeline-test",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": private_pem(rsa.generate_private_key(65537, 2048)),
        "client_email": "ci@pipeline-test.iam.gserviceaccount.com",
        "client_id": "112233445566778899001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/ci",
    }


def local_token_uri(settings: Any, port: int) -> str:
    """A token_uri on a loopback port, allowed the way an operator would allow it."""
    settings.PROVIDER_EXTRA_ENDPOINTS = [f"https://127.0.0.1:{port}"]
    return f"https://127.0.0.1:{port}/token"


def test_google_shape():
    good = service_account("https://oauth2.googleapis.com/token")
    assert REGISTRY["google"].clean(good, OFFLINE).values == good
    older = service_account("https://accounts.google.com/o/oauth2/token")
    assert REGISTRY["google"].clean(older, OFFLINE).values == older
    bad = {
        **good,
        "type": "user",
        "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "client_email": "not-an-email",
        "token_uri": "http://oauth2.googleapis.com/token",
    }
    errors = errors_of("google", bad, OFFLINE)
    assert set(errors) == {
        f"values.{k}" for k in ("type", "private_key", "client_email", "token_uri")
    }
    assert "AAAA" not in str(errors)
    elsewhere = service_account(f"https://127.0.0.1:{free_port()}/token")
    assert set(errors_of("google", elsewhere, OFFLINE)) == {"values.token_uri"}
    document = service_account_json(good)
    assert '"type": "service_account"' in document and good["client_email"] in document


def test_google_unreachable_token_uri(settings):
    values = service_account(local_token_uri(settings, free_port()))
    errors = errors_of("google", values)
    assert errors["values"] == ["Google could not be reached."]
    assert "PRIVATE KEY" not in str(errors)


@pytest.mark.django_db
def test_google_through_the_api(settings, vault, personas, clients):
    member, org = clients["member"], personas.org.pk
    values = service_account(local_token_uri(settings, free_port()))
    refused = assert_problem(post(member, org, "google", values), 400, field="values")
    assert "Google" in refused["detail"]
    created = post(member, org, "google", values, "?validate=false")
    assert created.status_code == 201, created.content
    detail = f"{url(org)}/{created.json()['id']}"
    assert member.get(detail).json()["values"] == values
    assert [s["name"] for s in member.get(url(org) + "?type=google").json()] == ["google-creds"]
    assert member.delete(detail).status_code == 204
    missing = {k: v for k, v in values.items() if k != "client_email"}
    assert_problem(
        post(member, org, "google", missing, "?validate=false"), 400, field="values.client_email"
    )
    extra = {**values, "quota_project_id": "x"}
    assert_problem(
        post(member, org, "google", extra, "?validate=false"), 400, field="values.quota_project_id"
    )


# --- azure -----------------------------------------------------------------------------

PRINCIPAL = {
    "AZURE_CLIENT_ID": "6f1c7c1e-1f0e-4f43-9d5c-0f6b9a4c2b11",
    "AZURE_CLIENT_SECRET": "Qx~8Q~not.a.real.secret_value-123",
    "AZURE_TENANT_ID": "72f988bf-86f1-41af-91ab-2d7cd011db47",
    "AZURE_SUBSCRIPTION_ID": "0b1f6471-1bf0-4dda-aec3-111122223333",
}


@pytest.fixture
def closed_authority(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"https://127.0.0.1:{free_port()}")


def test_azure_shape():
    assert REGISTRY["azure"].clean(PRINCIPAL, OFFLINE).values == PRINCIPAL
    bad = {k: ("nope" if k != "AZURE_CLIENT_SECRET" else " padded ") for k in PRINCIPAL}
    assert set(errors_of("azure", bad, OFFLINE)) == {f"values.{k}" for k in PRINCIPAL}


def test_azure_unreachable_authority(closed_authority):
    errors = errors_of("azure", PRINCIPAL)
    assert errors["values"] == ["Azure could not be reached."]
    assert PRINCIPAL["AZURE_CLIENT_SECRET"] not in str(errors)


@pytest.mark.django_db
def test_azure_through_the_api(closed_authority, vault, personas, clients):
    member, org = clients["member"], personas.org.pk
    refused = assert_problem(post(member, org, "azure", PRINCIPAL), 400, field="values")
    assert "Azure" in refused["detail"]
    created = post(member, org, "azure", PRINCIPAL, "?validate=false")
    assert created.status_code == 201, created.content
    detail = f"{url(org)}/{created.json()['id']}"
    assert member.get(detail).json()["values"] == PRINCIPAL
    assert [s["name"] for s in member.get(url(org) + "?type=azure").json()] == ["azure-creds"]
    assert member.delete(detail).status_code == 204
    missing = {k: v for k, v in PRINCIPAL.items() if k != "AZURE_TENANT_ID"}
    assert_problem(
        post(member, org, "azure", missing, "?validate=false"), 400, field="values.AZURE_TENANT_ID"
    )
    bad = {**PRINCIPAL, "AZURE_CLIENT_ID": "app"}
    assert_problem(
        post(member, org, "azure", bad, "?validate=false"), 400, field="values.AZURE_CLIENT_ID"
    )
    assert_problem(
        post(member, org, "azure", {**PRINCIPAL, "AZURE_REGION": "x"}, "?validate=false"),
        400,
        field="values.AZURE_REGION",
    )


# --- a provider that accepts connections and never answers ------------------------------


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as listener:
        yield int(listener.getsockname()[1])


@pytest.fixture
def socket_timeouts(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """Every timeout set on a socket during the test, in order."""
    seen: list[float | None] = []
    original = socket.socket.settimeout

    def record(sock: socket.socket, value: float | None) -> None:
        seen.append(value)
        original(sock, value)

    monkeypatch.setattr(socket.socket, "settimeout", record)
    return seen


@pytest.mark.parametrize("provider", ["amazon", "google", "azure"])
def test_a_silent_provider_is_given_up_on_within_the_timeouts(
    provider: str,
    silent_port: int,
    socket_timeouts: list[float | None],
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    # Distinct values, so the sockets show that the check's own timeouts reached the client
    # (and short ones, so the test does not wait for the real 3 s + 5 s).
    connect, read = 0.31, 0.27
    module = f"secrets_app.types.{provider}"
    monkeypatch.setattr(f"{module}.CONNECT_TIMEOUT", connect)
    monkeypatch.setattr(f"{module}.READ_TIMEOUT", read)
    where = f"127.0.0.1:{silent_port}"
    values = {"amazon": STRANGER, "azure": PRINCIPAL}.get(provider)
    if provider == "amazon":
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{where}")
    elif provider == "azure":
        monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"https://{where}")
    else:
        values = service_account(local_token_uri(settings, silent_port))
    assert values is not None
    errors = errors_of(provider, values)
    name = {"amazon": "AWS", "google": "Google", "azure": "Azure"}[provider]
    assert errors["values"] == [f"{name} could not be reached."]
    # Every wait used the check's own timeouts, never a library default (google-auth's is
    # 120 s) or none at all. (Over TLS the silent handshake ends under the connect timeout.)
    assert connect in socket_timeouts, socket_timeouts
    assert set(socket_timeouts) <= {connect, read}, socket_timeouts
