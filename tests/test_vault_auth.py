"""The app's Vault log-ins besides a static token, against the real OpenBao: AppRole, and
Kubernetes auth with the app's ServiceAccount token verified by OpenBao through the real
kube-apiserver's TokenReview API. Both log in again when Vault refuses or ends the token."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from secrets_app.vault import auth as vault_auth
from tests.conftest import VaultServer
from tools.devstack.pytest_plugin import APP_POLICY, ControlPlane

pytestmark = pytest.mark.django_db


def secrets_url(personas: Any) -> str:
    return f"/api/v1/orgs/{personas.org.pk}/secrets"


def create_and_read(clients: dict[str, Any], personas: Any, name: str) -> int:
    member = clients["member"]
    created = member.post(
        secrets_url(personas),
        {"name": name, "type": "generic", "values": {"k": f"value-{name}"}},
        format="json",
    )
    if created.status_code != 201:
        return created.status_code
    read = member.get(f"{secrets_url(personas)}/{created.json()['id']}")
    assert read.json()["values"] == {"k": f"value-{name}"}
    return read.status_code


@pytest.fixture
def fresh_logins() -> Any:
    vault_auth.forget_logins()
    yield
    vault_auth.forget_logins()


def test_approle_login_and_login_again_when_the_token_is_revoked_or_expires(
    vault: VaultServer, personas: Any, clients: dict[str, Any], settings: Any, fresh_logins: Any
) -> None:
    root = vault.root
    mount = f"approle-{uuid.uuid4().hex[:6]}"
    root.sys.enable_auth_method("approle", path=mount)
    root.auth.approle.create_or_update_approle(
        role_name="app",
        token_policies=[APP_POLICY],
        token_ttl="3s",
        token_max_ttl="3s",
        mount_point=mount,
    )
    role_id = root.auth.approle.read_role_id("app", mount_point=mount)["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id("app", mount_point=mount)["data"]["secret_id"]
    settings.VAULT_TOKEN = None
    settings.VAULT_AUTH_METHOD = "approle"
    settings.VAULT_AUTH_MOUNT = mount
    settings.VAULT_ROLE_ID = role_id
    settings.VAULT_SECRET_ID = secret_id

    assert create_and_read(clients, personas, "first") == 200
    first = vault_auth.token()
    assert root.auth.token.lookup(first)["data"]["policies"] == ["default", APP_POLICY]

    # Revoked behind the app's back: the refused call logs in again and succeeds.
    root.auth.token.revoke(first)
    assert create_and_read(clients, personas, "after-revoke") == 200
    second = vault_auth.token()
    assert second != first

    # Past its TTL (3 s) the token would be dead; the app has logged in anew by then.
    time.sleep(3.5)
    assert create_and_read(clients, personas, "after-expiry") == 200
    assert vault_auth.token() not in {first, second}

    # A wrong secret id: a 503 naming Vault, the secret id nowhere in it.
    vault_auth.forget_logins()
    settings.VAULT_SECRET_ID = "wrong-" + secret_id[6:]
    answer = clients["member"].post(
        secrets_url(personas),
        {"name": "x", "type": "generic", "values": {"k": "v"}},
        format="json",
    )
    assert answer.status_code == 503 and "Vault" in answer.json()["detail"]
    assert secret_id[6:] not in answer.content.decode()


def _service_account_token(plane: ControlPlane, namespace: str, name: str) -> str:
    plane.apply(
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}",
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace},
        },
    )
    answer = plane.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 3600},
        },
    )
    return str(answer["status"]["token"])


def test_kubernetes_login_with_the_service_account_token_verified_by_the_apiserver(
    vault: VaultServer,
    kube_control_plane: ControlPlane,
    personas: Any,
    clients: dict[str, Any],
    settings: Any,
    tmp_path: Path,
    fresh_logins: Any,
) -> None:
    plane = kube_control_plane
    namespace = f"vault-auth-{uuid.uuid4().hex[:6]}"
    plane.ensure_namespace(namespace)
    # OpenBao reviews a login with the logging-in token itself: that ServiceAccount may
    # create TokenReviews (system:auth-delegator), as the chart's ServiceAccount does.
    plane.apply(
        f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{namespace}-auth-delegator",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{namespace}-auth-delegator"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:auth-delegator",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": "pipeline-secrets", "namespace": namespace}
            ],
        },
    )
    app_jwt = _service_account_token(plane, namespace, "pipeline-secrets")
    other_jwt = _service_account_token(plane, namespace, "someone-else")

    root = vault.root
    mount = f"k8s-{uuid.uuid4().hex[:6]}"
    root.sys.enable_auth_method("kubernetes", path=mount)
    root.write(
        f"auth/{mount}/config",
        kubernetes_host=plane.server,
        kubernetes_ca_cert=plane.ca_pem,
        disable_local_ca_jwt=True,
    )
    root.write(
        f"auth/{mount}/role/app",
        bound_service_account_names=["pipeline-secrets"],
        bound_service_account_namespaces=[namespace],
        token_policies=[APP_POLICY],
        token_ttl="1h",
    )
    token_file = tmp_path / "token"
    token_file.write_text(app_jwt)
    settings.VAULT_TOKEN = None
    settings.VAULT_AUTH_METHOD = "kubernetes"
    settings.VAULT_AUTH_MOUNT = mount
    settings.VAULT_K8S_ROLE = "app"
    settings.VAULT_K8S_TOKEN_FILE = str(token_file)

    assert create_and_read(clients, personas, "from-pod") == 200
    first = vault_auth.token()
    assert APP_POLICY in root.auth.token.lookup(first)["data"]["policies"]

    # The token ended early (revoked): the app logs in again with the file's JWT.
    root.auth.token.revoke(first)
    assert create_and_read(clients, personas, "again") == 200
    assert vault_auth.token() != first

    # Another ServiceAccount's token is refused by the role binding: 503, no JWT echoed.
    vault_auth.forget_logins()
    token_file.write_text(other_jwt)
    answer = clients["member"].post(
        secrets_url(personas),
        {"name": "x", "type": "generic", "values": {"k": "v"}},
        format="json",
    )
    assert answer.status_code == 503 and other_jwt not in answer.content.decode()
