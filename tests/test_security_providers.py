"""Provider checks call only the provider: no tenant-chosen host, no redirect, no echo.

A local listener on 127.0.0.1 stands in for whatever a tenant might point a check at (an
internal service, a metadata endpoint). It counts the connections it receives and, when
given an answer, reads one request and sends it: a redirect to a second listener, or an
error whose text carries a canary that must not reach the caller (nor the logs, where the
tenant chose the endpoint).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import ssl
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from secrets_app.types import REGISTRY, Context, tlsgen
from secrets_app.types.remote import endpoint_allowed
from tests.helpers import assert_problem
from tests.listener import Listener, http_answer
from tests.test_types_cloud import PRINCIPAL, STRANGER, Moto, service_account
from tests.test_types_cloud import moto_server as moto_server  # a fixture, shared

CANARY = "canary-7d1f3a9e-internal-answer"
REFUSED = "This endpoint is not allowed"
OFFLINE = Context(verify_remote=False)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1, as files."""
    pems = tlsgen.generate(
        [ipaddress.ip_address("127.0.0.1")], timedelta(days=1), "ecdsa-p256", Context()
    )
    folder = tmp_path_factory.mktemp("tls")
    files = {name: folder / f"{name}.pem" for name in ("caCert", "serverCert", "serverKey")}
    for name, path in files.items():
        path.write_text(pems[name])
    return files


Listen = Callable[..., Listener]


@pytest.fixture
def listen(tls_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Listen]:
    """``listen(answer=None, tls=True, host="127.0.0.1")``: a started listener; clients trust
    its certificate."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files["caCert"]))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files["serverCert"], tls_files["serverKey"])
    started: list[Listener] = []

    def start(
        answer: bytes | None = None, *, tls: bool = True, host: str = "127.0.0.1"
    ) -> Listener:
        started.append(Listener(answer, tls=context if tls else None, host=host))
        return started[-1]

    yield start
    for listener in started:
        listener.close()


def secrets_url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/secrets"


def create(
    client: Any, org_id: int, type_name: str, values: dict[str, str], query: str = ""
) -> Any:
    body = {"name": f"{type_name}-creds", "type": type_name, "values": values, "tags": []}
    return client.post(secrets_url(org_id) + query, body, format="json")


def stored(client: Any, org_id: int, type_name: str, values: dict[str, str]) -> str:
    """Store without the provider check; the URL of the secret's validate call."""
    created = create(client, org_id, type_name, values, "?validate=false")
    assert created.status_code == 201, created.content
    return f"{secrets_url(org_id)}/{created.json()['id']}/validate"


def refused(response: Any, field: str) -> dict[str, Any]:
    body = assert_problem(response, 400, field=field)
    assert body["errors"][field][0].startswith(REFUSED), body
    return body


# --- google: the key names the endpoint, so only Google's own are accepted ---------------


@pytest.mark.parametrize(
    "token_uri",
    [
        "https://127.0.0.1:{port}/token",
        "https://oauth2.googleapis.com@127.0.0.1:{port}/token",
        "https://127.0.0.1:{port}\\@oauth2.googleapis.com/token",
        "https://oauth2.googleapis.com.127.0.0.1.nip.io:{port}/token",
        "https://oauth2.googleapis.com:{port}/token",
        "http://oauth2.googleapis.com/token",
        "https://[::ffff:127.0.0.1]:{port}/token",
    ],
)
@pytest.mark.django_db
def test_google_token_uri_off_googles_endpoints_is_refused_without_connecting(
    token_uri: str, listen: Listen, vault, personas, clients
) -> None:
    listener = listen()
    values = service_account(token_uri.format(port=listener.port))
    member, org = clients["member"], personas.org.pk
    body = assert_problem(create(member, org, "google", values), 400, field="values.token_uri")
    assert "Must be an https:// URL on oauth2.googleapis.com" in body["detail"]
    assert_problem(create(member, org, "google", values, "?validate=false"), 400)
    assert listener.connections == 0


@pytest.mark.parametrize(
    "field", ["auth_uri", "auth_provider_x509_cert_url", "client_x509_cert_url"]
)
def test_every_url_of_a_google_key_must_be_googles(field: str) -> None:
    values = {**service_account("https://oauth2.googleapis.com/token")}
    assert REGISTRY["google"].clean(values, OFFLINE).values == values
    values[field] = "https://metadata.internal.example/computeMetadata/v1/"
    with pytest.raises(ValidationError) as caught:
        REGISTRY["google"].clean(values, OFFLINE)
    assert set(caught.value.message_dict) == {f"values.{field}"}


def test_google_keys_of_other_universes_are_not_checked_remotely() -> None:
    values = {**service_account("https://oauth2.googleapis.com/token"), "universe_domain": "x.io"}
    assert REGISTRY["google"].clean(values, OFFLINE).values == values
    with pytest.raises(ValidationError) as caught:
        REGISTRY["google"].clean(values, Context())
    assert set(caught.value.message_dict) == {"values.universe_domain"}


def test_operator_endpoints_match_by_scheme_host_port_and_path(settings) -> None:
    settings.PROVIDER_EXTRA_ENDPOINTS = ["https://sts.internal:8443/google"]
    hosts = {"oauth2.googleapis.com"}
    assert endpoint_allowed("https://oauth2.googleapis.com/token", hosts)
    assert endpoint_allowed("https://sts.internal:8443/google/token", hosts)
    for url in (
        "https://sts.internal:8443/googlex/token",
        "https://sts.internal:8443/other",
        "https://sts.internal/google/token",
        "http://sts.internal:8443/google/token",
        "https://sts.internal:8443.example/google/token",
        "https://x@sts.internal:8443/google/token",
        "https://oauth2.googleapis.com:443@127.0.0.1/token",
        "https://oauth2.googleapis.com\\@127.0.0.1/token",
        "https://oauth2.googleapis.com /token",
        "ftp://oauth2.googleapis.com/token",
    ):
        assert not endpoint_allowed(url, hosts), url


@pytest.mark.django_db
def test_google_validate_refuses_an_endpoint_the_operator_no_longer_allows(
    listen: Listen, settings, vault, personas, clients
) -> None:
    listener = listen()
    settings.PROVIDER_EXTRA_ENDPOINTS = [listener.origin]
    member, org = clients["member"], personas.org.pk
    validate = stored(member, org, "google", service_account(f"{listener.origin}/token"))
    settings.PROVIDER_EXTRA_ENDPOINTS = []
    assert_problem(member.get(validate), 400, field="values.token_uri")
    assert listener.connections == 0


@pytest.mark.django_db
def test_google_redirect_is_not_followed(listen: Listen, settings, vault, personas, clients):
    target = listen(http_answer("200 OK", '{"access_token": "x", "expires_in": 3600}'))
    first = listen(http_answer("302 Found", location=f"{target.origin}/token"))
    # Both are allowed: only the refusal to follow a redirect keeps the second one out.
    settings.PROVIDER_EXTRA_ENDPOINTS = [first.origin, target.origin]
    member, org = clients["member"], personas.org.pk
    values = service_account(f"{first.origin}/token")
    body = assert_problem(create(member, org, "google", values), 400, field="values")
    message = "Google answered with a redirect, which this server does not follow (HTTP 302)."
    assert body["errors"]["values"] == [message]
    validate = stored(member, org, "google", values)
    assert assert_problem(member.get(validate), 400)["errors"]["values"] == [message]
    assert first.connections == 2
    assert target.connections == 0


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            http_answer(
                "400 Bad Request",
                f'{{"error": "invalid_grant", "error_description": "{CANARY}"}}',
                content_type="application/json",
            ),
            "Google rejected the service account (HTTP 400).",
        ),
        (http_answer("403 Forbidden", CANARY), "Google rejected the service account (HTTP 403)."),
        (
            http_answer("503 Service Unavailable", CANARY),
            "Google answered with a server error (HTTP 503).",
        ),
        (
            http_answer("200 OK", CANARY),
            "Google gave an answer this server could not read (HTTP 200).",
        ),
    ],
    ids=["oauth-error", "forbidden", "unavailable", "not-json"],
)
@pytest.mark.django_db
def test_google_answer_text_reaches_neither_caller_nor_logs(
    answer: bytes, message: str, listen: Listen, settings, caplog, vault, personas, clients
) -> None:
    caplog.set_level(logging.DEBUG)
    listener = listen(answer)
    settings.PROVIDER_EXTRA_ENDPOINTS = [listener.origin]
    member, org = clients["member"], personas.org.pk
    values = service_account(f"{listener.origin}/token")
    created = create(member, org, "google", values)
    assert assert_problem(created, 400)["errors"] == {"values": [message]}
    validate = member.get(stored(member, org, "google", values))
    assert assert_problem(validate, 400)["errors"] == {"values": [message]}
    for response in (created, validate):
        assert CANARY not in response.content.decode()
    assert CANARY not in caplog.text
    # One request per check: google-auth's retries on a 503 are not made.
    assert listener.connections == 2


@pytest.mark.django_db
def test_google_endpoint_in_a_denied_network_is_refused(
    listen: Listen, settings, vault, personas, clients
) -> None:
    listener = listen(http_answer("200 OK", '{"access_token": "x", "expires_in": 3600}'))
    settings.PROVIDER_EXTRA_ENDPOINTS = [listener.origin]
    settings.OUTBOUND_DENY_NETWORKS = ["127.0.0.0/8"]
    member, org = clients["member"], personas.org.pk
    values = service_account(f"{listener.origin}/token")
    refused(create(member, org, "google", values), "values.token_uri")
    refused(member.get(stored(member, org, "google", values)), "values.token_uri")
    assert listener.connections == 0


# --- azure: the authority is the operator's; a tenant's values cannot name one -----------


@pytest.mark.django_db
def test_azure_values_cannot_carry_an_authority(vault, personas, clients) -> None:
    member, org = clients["member"], personas.org.pk
    values = {**PRINCIPAL, "AZURE_AUTHORITY_HOST": "https://127.0.0.1:1"}
    assert_problem(create(member, org, "azure", values), 400, field="values.AZURE_AUTHORITY_HOST")


@pytest.mark.django_db
def test_azure_authority_in_a_denied_network_is_refused(
    listen: Listen, settings, monkeypatch, vault, personas, clients
) -> None:
    listener = listen(http_answer("200 OK", "{}"))
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", listener.origin)
    settings.OUTBOUND_DENY_NETWORKS = ["127.0.0.0/8"]
    member, org = clients["member"], personas.org.pk
    refused(create(member, org, "azure", PRINCIPAL), "values")
    refused(member.get(stored(member, org, "azure", PRINCIPAL)), "values")
    assert listener.connections == 0


@pytest.mark.django_db
def test_azure_token_endpoint_named_by_the_authority_is_checked_too(
    listen: Listen, settings, monkeypatch, vault, personas, clients
) -> None:
    denied = listen(http_answer("200 OK", "{}"), host="127.0.0.2")
    metadata = {
        "issuer": "https://login.example/tenant/v2.0",
        "authorization_endpoint": f"{denied.origin}/authorize",
        "token_endpoint": f"{denied.origin}/token",
    }
    authority = listen(http_answer("200 OK", json.dumps(metadata), content_type="application/json"))
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", authority.origin)
    settings.OUTBOUND_DENY_NETWORKS = ["127.0.0.2/32"]
    member, org = clients["member"], personas.org.pk
    refused(create(member, org, "azure", PRINCIPAL), "values")
    assert authority.connections == 1
    assert denied.connections == 0


@pytest.mark.django_db
def test_azure_redirect_is_not_followed(
    listen: Listen, monkeypatch, vault, personas, clients
) -> None:
    target = listen(http_answer("200 OK", "{}"))
    first = listen(http_answer("302 Found", CANARY, location=f"{target.origin}/"))
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", first.origin)
    member, org = clients["member"], personas.org.pk
    created = create(member, org, "azure", PRINCIPAL)
    validate = member.get(stored(member, org, "azure", PRINCIPAL))
    for response in (created, validate):
        body = assert_problem(response, 400, field="values")
        assert body["errors"]["values"][0].startswith("Azure "), body
        assert CANARY not in response.content.decode()
    assert first.connections == 2
    assert target.connections == 0


@pytest.mark.django_db
def test_azure_answer_text_is_not_passed_on(
    listen: Listen, monkeypatch, vault, personas, clients
) -> None:
    error = f'{{"error": "invalid_client", "error_description": "{CANARY}"}}'
    listener = listen(http_answer("400 Bad Request", error, content_type="application/json"))
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", listener.origin)
    member, org = clients["member"], personas.org.pk
    response = create(member, org, "azure", PRINCIPAL)
    body = assert_problem(response, 400, field="values")
    assert body["errors"]["values"][0].startswith("Azure "), body
    assert CANARY not in response.content.decode()


# --- aws: the endpoint is boto3's, from the server's environment and a known region -------


@pytest.mark.django_db
def test_aws_values_cannot_carry_an_endpoint(vault, personas, clients) -> None:
    member, org = clients["member"], personas.org.pk
    values = {**STRANGER, "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
    assert_problem(create(member, org, "amazon", values), 400, field="values.AWS_ENDPOINT_URL")


def test_aws_region_must_be_one_boto3_knows(monkeypatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    values = {**STRANGER, "AWS_REGION": "zz-internal-9"}
    assert REGISTRY["amazon"].clean(values, OFFLINE).values == values
    with pytest.raises(ValidationError) as caught:
        REGISTRY["amazon"].clean(values, Context())
    assert set(caught.value.message_dict) == {"values.AWS_REGION"}


@pytest.mark.django_db
def test_aws_endpoint_in_a_denied_network_is_refused(
    moto_server: Moto, listen: Listen, settings, monkeypatch, vault, personas, clients
) -> None:
    member, org = clients["member"], personas.org.pk
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
    created = create(member, org, "amazon", moto_server.values())
    assert created.status_code == 201, created.content
    validate = f"{secrets_url(org)}/{created.json()['id']}/validate"
    assert member.get(validate).json()["valid"] is True
    settings.OUTBOUND_DENY_NETWORKS = ["127.0.0.0/8"]
    refused(member.get(validate), "values")
    listener = listen(tls=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", listener.origin)
    assert member.delete(validate.removesuffix("/validate")).status_code == 204
    refused(create(member, org, "amazon", moto_server.values()), "values")
    assert listener.connections == 0


@pytest.mark.django_db
def test_aws_redirect_is_not_followed(listen: Listen, monkeypatch, vault, personas, clients):
    target = listen(tls=False)
    first = listen(http_answer("302 Found", CANARY, location=f"{target.origin}/"), tls=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", first.origin)
    member, org = clients["member"], personas.org.pk
    created = create(member, org, "amazon", STRANGER)
    validate = member.get(stored(member, org, "amazon", STRANGER))
    for response in (created, validate):
        body = assert_problem(response, 400, field="values")
        assert body["errors"]["values"] == [
            "AWS answered with a redirect, which this server does not follow (HTTP 302)."
        ]
        assert CANARY not in response.content.decode()
    assert first.connections == 2
    assert target.connections == 0


def sts_error(code: str) -> bytes:
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
        f"<Type>Sender</Type><Code>{code}</Code><Message>{CANARY}</Message>"
        "</Error><RequestId>1</RequestId></ErrorResponse>"
    )
    return http_answer("403 Forbidden", body, content_type="text/xml")


@pytest.mark.parametrize(
    ("code", "field", "message"),
    [
        (
            "InvalidClientTokenId",
            "values.AWS_ACCESS_KEY_ID",
            "AWS rejected the credentials (InvalidClientTokenId).",
        ),
        (f"Code{CANARY}", "values", "AWS rejected the credentials (HTTP 403)."),
    ],
    ids=["known-code", "unknown-code"],
)
@pytest.mark.django_db
def test_aws_answer_text_is_not_passed_on(
    code: str, field: str, message: str, listen: Listen, monkeypatch, vault, personas, clients
) -> None:
    listener = listen(sts_error(code), tls=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", listener.origin)
    member, org = clients["member"], personas.org.pk
    response = create(member, org, "amazon", STRANGER)
    assert assert_problem(response, 400)["errors"] == {field: [message]}
    assert CANARY not in response.content.decode()
