"""A real Kubernetes control plane (etcd + kube-apiserver) on loopback.

Used by the integration tests (the ``kube_control_plane`` fixture of
tools.devstack.pytest_plugin) and by `make kube-up` for trying
Pipeline Secrets by hand against a cluster. It runs what controller-runtime's envtest runs:
etcd and kube-apiserver only, no controller-manager, scheduler or kubelet. Consequences:
pods never run, service-account tokens are not minted by a controller, and a deleted
namespace stays in Terminating for good (nothing finalizes it), so tests should use a
fresh namespace name rather than delete and re-create one.

The binaries come from build.sh beside this module (versions pinned in its go.mod).
Only the standard library and `cryptography` are needed. The pieces: pki.py (certificates),
kubeconfig.py, processes.py (binaries, command lines, supervision), api.py (REST client and
RBAC) and cli.py (the command line below, run as ``python -m tools.devstack.kube``).

Library use::

    cp = ControlPlane(tmp_dir)
    cp.start()
    try:
        kubeconfig = cp.restricted_kubeconfig("team-a", "pipeline-secrets")
        ...
    finally:
        cp.stop()

Command line::

    python -m tools.devstack.kube up --dir var/kube [--detach] [--port N]
    python -m tools.devstack.kube kubeconfig --dir var/kube --namespace NS --user NAME
    python -m tools.devstack.kube down --dir var/kube
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tools.devstack.kube.api import DEFAULT_SECRET_VERBS, KubeClient
from tools.devstack.kube.errors import ControlPlaneError, KubeAPIError
from tools.devstack.kube.kubeconfig import kubeconfig_yaml
from tools.devstack.kube.pki import ClusterPKI
from tools.devstack.kube.processes import (
    PortTaken,
    apiserver_command,
    etcd_command,
    etcd_probe,
    resolve_bin_dir,
    spawn,
    wait_healthy,
)
from tools.devstack.proc import free_port, port_is_free, terminate, write_private

__all__ = ["ControlPlane", "ControlPlaneError", "KubeAPIError"]

START_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0
ETCD_TIMEOUT = 30.0
PORT_ATTEMPTS = 3


class ControlPlane:
    """etcd + kube-apiserver on free loopback ports, with everything kept in work_dir.

    work_dir receives the PKI (pki/), etcd's data (etcd-data/), the logs (etcd.log,
    kube-apiserver.log) and state.json. With reuse_state=True an existing CA,
    service-account key, etcd data and port in work_dir are kept across restarts, so
    kubeconfigs handed out earlier stay valid; otherwise everything starts fresh.
    """

    def __init__(
        self,
        work_dir: str | os.PathLike[str],
        bin_dir: str | os.PathLike[str] | None = None,
        *,
        secure_port: int | None = None,
        reuse_state: bool = False,
        start_timeout: float = START_TIMEOUT,
        extra_apiserver_args: Iterable[str] = (),
    ) -> None:
        self.work_dir = Path(work_dir).resolve()
        self._bin_dir_arg = bin_dir
        self.bin_dir: Path | None = None
        self.reuse_state = reuse_state
        self.start_timeout = start_timeout
        self.extra_apiserver_args = list(extra_apiserver_args)
        self._requested_port = secure_port
        self.secure_port: int | None = None
        self.etcd_port: int | None = None
        self.etcd_peer_port: int | None = None
        self._etcd: subprocess.Popen[bytes] | None = None
        self._apiserver: subprocess.Popen[bytes] | None = None
        self._pki: ClusterPKI | None = None
        self._client: KubeClient | None = None

    @classmethod
    def attach(cls, work_dir: Path) -> ControlPlane:
        """A ControlPlane for one already running from work_dir (admin calls only)."""
        state = json.loads((work_dir / "state.json").read_text())
        cp = cls(work_dir, state["bin_dir"], reuse_state=True)
        cp.bin_dir = Path(state["bin_dir"])
        cp.secure_port = int(state["secure_port"])
        cp._pki = ClusterPKI.load(cp.pki_dir)
        return cp

    # -- paths ---------------------------------------------------------------------------

    @property
    def pki_dir(self) -> Path:
        return self.work_dir / "pki"

    @property
    def etcd_data_dir(self) -> Path:
        return self.work_dir / "etcd-data"

    @property
    def state_file(self) -> Path:
        return self.work_dir / "state.json"

    @property
    def kubectl_path(self) -> Path:
        if self.bin_dir is None:
            raise ControlPlaneError("the control plane has not been started")
        return self.bin_dir / "kubectl"

    # -- public properties ------------------------------------------------------------

    @property
    def server(self) -> str:
        """The API server's https URL, e.g. https://127.0.0.1:41234."""
        if self.secure_port is None:
            raise ControlPlaneError("the control plane has not been started")
        return f"https://127.0.0.1:{self.secure_port}"

    @property
    def ca_pem(self) -> str:
        """PEM of the CA that signed the API server's serving certificate."""
        return self._require_pki().ca.cert_pem.decode("ascii")

    @property
    def running(self) -> bool:
        return (
            self._apiserver is not None
            and self._apiserver.poll() is None
            and self._etcd is not None
            and self._etcd.poll() is None
        )

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Starts etcd and kube-apiserver and waits until /readyz says ok."""
        if self.running:
            return
        self.bin_dir = resolve_bin_dir(self._bin_dir_arg)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._pki = ClusterPKI.prepare(self.pki_dir, reuse=self.reuse_state)
        self._client = None
        state = self._read_state() if self.reuse_state else {}
        if not self.reuse_state:
            shutil.rmtree(self.etcd_data_dir, ignore_errors=True)

        for attempt in range(1, PORT_ATTEMPTS + 1):
            self._pick_ports(state)
            try:
                self._start_etcd()
                self._start_apiserver()
            except PortTaken:
                self._stop_processes()
                state = {}
                if attempt == PORT_ATTEMPTS:
                    raise ControlPlaneError(
                        "could not find free ports for the control plane"
                    ) from None
                continue
            except BaseException:
                self._stop_processes()
                raise
            break
        self._write_state()

    def stop(self) -> None:
        """Stops kube-apiserver, then etcd. Safe to call more than once."""
        self._stop_processes()

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- kubeconfigs ------------------------------------------------------------------

    def admin_kubeconfig(self) -> str:
        """Kubeconfig (YAML) for a cluster admin (O=system:masters)."""
        pki = self._require_pki()
        return kubeconfig_yaml(
            server=self.server,
            ca_pem=pki.ca.cert_pem,
            user="admin",
            cert_pem=pki.admin_cert_pem,
            key_pem=pki.admin_key_pem,
        )

    def write_admin_kubeconfig(self, path: str | os.PathLike[str]) -> Path:
        return write_private(Path(path), self.admin_kubeconfig())

    def user_kubeconfig(
        self, username: str, *, groups: Sequence[str] = (), namespace: str = "default"
    ) -> str:
        """Kubeconfig for a client certificate with CN=username (and O=groups), no RBAC."""
        ca = self._require_pki().ca
        cert_pem, key_pem = ca.issue(username, organizations=groups, client=True)
        return kubeconfig_yaml(
            server=self.server,
            ca_pem=ca.cert_pem,
            user=username,
            cert_pem=cert_pem,
            key_pem=key_pem,
            namespace=namespace,
        )

    def restricted_kubeconfig(
        self,
        namespace: str,
        username: str,
        *,
        verbs: Sequence[str] = DEFAULT_SECRET_VERBS,
    ) -> str:
        """Kubeconfig for `username` that may only manage Secrets in `namespace`.

        Creates the namespace if missing, a Role allowing `verbs` on secrets there and a
        RoleBinding of that Role to the user (all idempotent, via server-side apply).
        """
        self.ensure_namespace(namespace)
        self.api().grant_secrets(namespace, username, verbs)
        return self.user_kubeconfig(username, namespace=namespace)

    # -- admin REST helpers -----------------------------------------------------------

    def api(self) -> KubeClient:
        """The admin REST client of the running API server."""
        client = self._client
        if client is None or client.server != self.server:
            client = KubeClient(
                self.server, self.ca_pem, self.pki_dir / "admin.crt", self.pki_dir / "admin.key"
            )
            self._client = client
        return client

    def request(self, method: str, path: str, body: Any = None, **options: Any) -> Any:
        """Calls the API server as admin; returns the decoded JSON answer. ``options`` are
        KubeClient.request's (content_type, timeout).

        Raises KubeAPIError on an HTTP error status (its .status holds the code).
        """
        return self.api().request(method, path, body, **options)

    def apply(self, path: str, obj: dict[str, Any]) -> Any:
        """Server-side apply of obj at path (creates or updates)."""
        return self.api().apply(path, obj)

    def ensure_namespace(self, namespace: str) -> None:
        self.api().ensure_namespace(namespace)

    def kubectl(
        self,
        *args: str,
        kubeconfig: str | None = None,
        check: bool = True,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Runs kubectl (admin unless kubeconfig, a kubeconfig's YAML text, is given)."""
        with tempfile.TemporaryDirectory(prefix="kubeconfig-") as tmp:
            path = Path(tmp) / "kubeconfig"
            write_private(path, kubeconfig if kubeconfig is not None else self.admin_kubeconfig())
            return subprocess.run(
                [str(self.kubectl_path), "--kubeconfig", str(path), *args],
                capture_output=True,
                text=True,
                input=input,
                check=check,
                timeout=120,
            )

    # -- internals ------------------------------------------------------------------------

    def _require_pki(self) -> ClusterPKI:
        if self._pki is None:
            raise ControlPlaneError("the control plane has not been started")
        return self._pki

    def _read_state(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.state_file.read_text()))
        except (OSError, ValueError):
            return {}

    def _write_state(self) -> None:
        assert self._etcd is not None and self._apiserver is not None
        state = {
            "server": self.server,
            "secure_port": self.secure_port,
            "etcd_port": self.etcd_port,
            "etcd_peer_port": self.etcd_peer_port,
            "bin_dir": str(self.bin_dir),
            "etcd_pid": self._etcd.pid,
            "apiserver_pid": self._apiserver.pid,
        }
        self.state_file.write_text(json.dumps(state, indent=2) + "\n")

    def _pick_ports(self, state: dict[str, Any]) -> None:
        def choose(wanted: Any) -> int:
            if isinstance(wanted, int) and wanted > 0 and port_is_free(wanted):
                return wanted
            return free_port()

        if self._requested_port:
            if not port_is_free(self._requested_port):
                raise ControlPlaneError(f"port {self._requested_port} is already in use")
            self.secure_port = self._requested_port
        else:
            self.secure_port = choose(state.get("secure_port"))
        self.etcd_port = choose(state.get("etcd_port"))
        self.etcd_peer_port = choose(state.get("etcd_peer_port"))
        if len({self.secure_port, self.etcd_port, self.etcd_peer_port}) != 3:
            self.etcd_port, self.etcd_peer_port = free_port(), free_port()

    def _start_etcd(self) -> None:
        assert self.bin_dir and self.etcd_port and self.etcd_peer_port
        log = self.work_dir / "etcd.log"
        args = etcd_command(self.bin_dir, self.etcd_data_dir, self.etcd_port, self.etcd_peer_port)
        self._etcd = spawn(args, log, self.work_dir)
        wait_healthy(self._etcd, "etcd", log, etcd_probe(self.etcd_port), timeout=ETCD_TIMEOUT)

    def _start_apiserver(self) -> None:
        assert self.bin_dir and self.etcd_port and self.secure_port
        cert_dir = self.work_dir / "apiserver-certs"
        cert_dir.mkdir(exist_ok=True)
        args = apiserver_command(
            self.bin_dir,
            pki_dir=self.pki_dir,
            cert_dir=cert_dir,
            etcd_port=self.etcd_port,
            secure_port=self.secure_port,
            issuer=self.server,
            extra_args=self.extra_apiserver_args,
        )
        log = self.work_dir / "kube-apiserver.log"
        self._apiserver = spawn(args, log, self.work_dir)
        wait_healthy(
            self._apiserver,
            "kube-apiserver",
            log,
            self.api().readyz,
            timeout=self.start_timeout,
            interval=0.5,
        )

    def _stop_processes(self) -> None:
        terminate(self._apiserver, STOP_TIMEOUT)
        terminate(self._etcd, STOP_TIMEOUT)
        self._apiserver = None
        self._etcd = None
