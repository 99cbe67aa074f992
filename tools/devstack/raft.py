"""OpenBao with integrated raft storage, three nodes on 127.0.0.1: initialised, unsealed,
every node a voter, with KV v2, the app's policy and an AppRole for the app (the scale
stack's Vault, ``tools.devstack.scale``). The root token and unseal key stay in
``<node dir>/init.json`` (mode 0600)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from tools.devstack.base import DEFAULT_TIMEOUT, StackError
from tools.devstack.openbao import APP_POLICY, OpenBao
from tools.devstack.proc import wait_for, write_private

APPROLE = "pipeline-secrets"
# Login tokens live an hour and are replaced by a new login well before that.
APPROLE_TOKEN_TTL = "1h"


class RaftNode(OpenBao):
    """One node of a raft cluster: its own node id, joining the other nodes on unseal."""

    def __init__(self, data_dir: Path, node_id: str, port: int | None = None) -> None:
        super().__init__(data_dir, port)
        self.node_id = node_id
        self.peers: list[str] = []

    def config_text(self) -> str:
        joins = "".join(
            f'  retry_join {{\n    leader_api_addr = "{peer}"\n  }}\n' for peer in self.peers
        )
        base = super().config_text()
        return base.replace('node_id = "pipeline-secrets"', f'node_id = "{self.node_id}"').replace(
            "  performance_multiplier = 1\n", f"  performance_multiplier = 1\n{joins}"
        )

    def join_and_unseal(self, credentials: dict[str, str], timeout: float) -> None:
        """Unseal a node of an initialised cluster (it joins through retry_join) and wait
        until it serves as active or standby."""
        self.load_credentials(credentials)
        if not self.init_path.exists():
            write_private(self.init_path, json.dumps(credentials, indent=2) + "\n")

        def unsealed() -> bool:
            self.check_alive()
            status = self.health_status()
            if status == 503 or status == 501:
                with contextlib.suppress(Exception):
                    client = self.client()
                    if client.sys.is_sealed():
                        client.sys.submit_unseal_key(key=credentials["unseal_key"])
                return False
            return status in (200, 429)

        wait_for(unsealed, timeout, f"OpenBao {self.node_id} to join", error=StackError)


class OpenBaoCluster:
    """Three OpenBao nodes with raft storage on 127.0.0.1, initialised and unsealed, with
    KV v2, the app's policy and an AppRole for the app.

    Invariant: every node process started here is stopped by stop()."""

    def __init__(self, base_dir: Path, size: int = 3) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.nodes = [
            RaftNode(self.base_dir / f"vault-{index}", f"node-{index}") for index in range(size)
        ]
        for node in self.nodes:
            node.peers = [other.addr for other in self.nodes if other is not node]
        self.mount = "secret"

    @property
    def addresses(self) -> str:
        """All API addresses, comma-separated (the app's VAULT_ADDR)."""
        return ",".join(node.addr for node in self.nodes)

    @property
    def credentials(self) -> dict[str, str]:
        first = self.nodes[0]
        return {"root_token": first.root_token, "unseal_key": first.unseal_key}

    def start(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        first = self.nodes[0]
        try:
            first.start()
            first.wait_responding(timeout)
            first.init_or_load()
            first.unseal()
            for node in self.nodes[1:]:
                node.start()
            for node in self.nodes[1:]:
                node.wait_responding(timeout)
                node.join_and_unseal(self.credentials, timeout)
            self.wait_voters(timeout)
        except BaseException:
            self.stop()
            raise

    def active(self) -> RaftNode | None:
        for node in self.nodes:
            if node.process is not None and node.health_status() == 200:
                return node
        return None

    def wait_active(self, timeout: float = DEFAULT_TIMEOUT) -> RaftNode:
        found: list[RaftNode] = []

        def elected() -> bool:
            node = self.active()
            if node is not None:
                found.append(node)
            return node is not None

        wait_for(elected, timeout, "an active OpenBao node", error=StackError)
        return found[-1]

    def root_client(self) -> Any:
        return self.wait_active().root_client()

    def wait_voters(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until every node is a voter: autopilot admits a joined node as a non-voter
        and promotes it once stable, and until then losing the leader loses the quorum."""

        def all_vote() -> bool:
            active = self.active()
            if active is None:
                return False
            with contextlib.suppress(Exception):
                servers = active.root_client().sys.read_raft_config()["data"]["config"]["servers"]
                return len(servers) == len(self.nodes) and all(s["voter"] for s in servers)
            return False

        wait_for(all_vote, timeout, "every OpenBao node to vote", error=StackError)

    def configure(self, approle_dir: Path, timeout: float = DEFAULT_TIMEOUT) -> dict[str, str]:
        """KV v2, the app policy and an AppRole; returns the app's environment (VAULT_*),
        the secret id in a file (mode 0600) under ``approle_dir``."""
        active = self.wait_active(timeout)
        active.configure_app(mount=self.mount, timeout=timeout)
        client = active.root_client()
        if "approle/" not in client.sys.list_auth_methods()["data"]:
            client.sys.enable_auth_method("approle")
        client.auth.approle.create_or_update_approle(
            role_name=APPROLE,
            token_policies=[APP_POLICY],
            token_ttl=APPROLE_TOKEN_TTL,
            token_max_ttl=APPROLE_TOKEN_TTL,
        )
        role_id = client.auth.approle.read_role_id(role_name=APPROLE)["data"]["role_id"]
        secret_id = client.auth.approle.generate_secret_id(role_name=APPROLE)["data"]["secret_id"]
        secret_file = write_private(approle_dir / "approle-secret-id", secret_id)
        return {
            "VAULT_ADDR": self.addresses,
            "VAULT_AUTH_METHOD": "approle",
            "VAULT_ROLE_ID": role_id,
            "VAULT_SECRET_ID_FILE": str(secret_file),
            "VAULT_MOUNT": self.mount,
        }

    def kill(self, node: RaftNode) -> None:
        """kill -9 of one node's process group."""
        node.kill()

    def restart(self, node: RaftNode, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Start a stopped or killed node again and unseal it; it rejoins as a standby."""
        node.start()
        node.wait_responding(timeout)
        node.join_and_unseal(self.credentials, timeout)

    def stop(self) -> None:
        for node in reversed(self.nodes):
            with contextlib.suppress(Exception):
                node.stop()
