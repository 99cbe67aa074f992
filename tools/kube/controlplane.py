"""A real Kubernetes control plane (etcd + kube-apiserver) on loopback.

Used by the integration tests (see tests/kube_fixtures.py) and by `make kube-up` for trying
Pipeline Secrets by hand against a cluster. It runs what controller-runtime's envtest runs:
etcd and kube-apiserver only, no controller-manager, scheduler or kubelet. Consequences:
pods never run, service-account tokens are not minted by a controller, and a deleted
namespace stays in Terminating for good (nothing finalizes it), so tests should use a
fresh namespace name rather than delete and re-create one.

The binaries come from tools/kube/build.sh (versions pinned in tools/kube/go.mod).
Only the standard library and `cryptography` are needed.

Library use::

    cp = ControlPlane(tmp_dir)
    cp.start()
    try:
        kubeconfig = cp.restricted_kubeconfig("team-a", "pipeline-secrets")
        ...
    finally:
        cp.stop()

Command line::

    python tools/kube/controlplane.py up --dir var/kube [--detach] [--port N]
    python tools/kube/controlplane.py kubeconfig --dir var/kube --namespace NS --user NAME
    python tools/kube/controlplane.py down --dir var/kube
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KUBE_DIR = Path(__file__).resolve().parent
BUILD_SCRIPT = KUBE_DIR / "build.sh"
BINARIES = ("etcd", "kube-apiserver", "kubectl")

SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
# The first address of the service range: the in-cluster `kubernetes` service.
KUBERNETES_SERVICE_IP = "10.0.0.1"
CLUSTER_NAME = "pipeline-secrets-local"
FIELD_MANAGER = "pipeline-secrets-controlplane"
DEFAULT_SECRET_VERBS = ("get", "list", "create", "update", "patch", "delete")

START_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0
CERT_VALIDITY = datetime.timedelta(days=365)


class ControlPlaneError(RuntimeError):
    """The control plane could not be built, started or talked to."""


class KubeAPIError(ControlPlaneError):
    """The API server answered a request with an error status."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.body = body
        super().__init__(f"{method} {path}: HTTP {status}: {body[:500]}")


# --------------------------------------------------------------------------------------
# Binaries


def build(*, quiet: bool = False) -> Path:
    """Runs build.sh (a no-op when the binaries are cached) and returns the bin dir."""
    if not shutil.which("bash"):
        raise ControlPlaneError("bash is needed to run tools/kube/build.sh")
    stderr = subprocess.DEVNULL if quiet else None
    proc = subprocess.run(
        ["bash", str(BUILD_SCRIPT)],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ControlPlaneError(f"tools/kube/build.sh failed with exit code {proc.returncode}")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if not lines:
        raise ControlPlaneError("tools/kube/build.sh printed no bin dir")
    return Path(lines[-1].strip())


def _has_binaries(bin_dir: Path) -> bool:
    return all(os.access(bin_dir / b, os.X_OK) for b in BINARIES)


def resolve_bin_dir(bin_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding etcd, kube-apiserver and kubectl.

    An explicit bin_dir wins; otherwise $KUBE_BIN_DIR when it already holds the three
    binaries (no Go needed then); otherwise build.sh builds or finds them.
    """
    if bin_dir is not None:
        path = Path(bin_dir)
        if not _has_binaries(path):
            raise ControlPlaneError(f"{path} lacks one of {', '.join(BINARIES)}")
        return path
    env_dir = os.environ.get("KUBE_BIN_DIR")
    if env_dir and _has_binaries(Path(env_dir)):
        return Path(env_dir)
    path = build()
    if not _has_binaries(path):
        raise ControlPlaneError(f"build.sh reported {path}, which lacks the binaries")
    return path


# --------------------------------------------------------------------------------------
# Certificates


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _new_ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class CertificateAuthority:
    """A throw-away CA that signs the API server's serving cert and all client certs."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        self.key = key
        self.cert = cert

    @classmethod
    def create(cls, common_name: str = "pipeline-secrets-local-ca") -> CertificateAuthority:
        key = _new_ec_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + 10 * CERT_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> CertificateAuthority:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ControlPlaneError(f"{key_path} is not an EC key")
        return cls(key, cert)

    @property
    def cert_pem(self) -> bytes:
        return _cert_pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        return _key_pem(self.key)

    def issue(
        self,
        common_name: str,
        *,
        organizations: Sequence[str] = (),
        dns_names: Sequence[str] = (),
        ip_addresses: Sequence[str] = (),
        server: bool = False,
        client: bool = False,
    ) -> tuple[bytes, bytes]:
        """Signs a new leaf certificate; returns (cert_pem, key_pem)."""
        key = _new_ec_key()
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        usages = []
        if server:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        if client:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attrs))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + CERT_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return _cert_pem(cert), _key_pem(key)


# --------------------------------------------------------------------------------------
# Kubeconfig


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def kubeconfig_yaml(
    *,
    server: str,
    ca_pem: bytes,
    user: str,
    cert_pem: bytes,
    key_pem: bytes,
    namespace: str = "default",
    cluster: str = CLUSTER_NAME,
) -> str:
    """A kubeconfig with one cluster, one user and one context, which is current."""
    context = f"{user}@{cluster}"
    # Every value is quoted as a JSON string, which is valid YAML whatever it contains.
    q = json.dumps
    return (
        "apiVersion: v1\n"
        "kind: Config\n"
        "preferences: {}\n"
        "clusters:\n"
        f"- name: {q(cluster)}\n"
        "  cluster:\n"
        f"    server: {q(server)}\n"
        f"    certificate-authority-data: {_b64(ca_pem)}\n"
        "users:\n"
        f"- name: {q(user)}\n"
        "  user:\n"
        f"    client-certificate-data: {_b64(cert_pem)}\n"
        f"    client-key-data: {_b64(key_pem)}\n"
        "contexts:\n"
        f"- name: {q(context)}\n"
        "  context:\n"
        f"    cluster: {q(cluster)}\n"
        f"    user: {q(user)}\n"
        f"    namespace: {q(namespace)}\n"
        f"current-context: {q(context)}\n"
    )


# --------------------------------------------------------------------------------------
# Processes


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGKILL it if the parent dies (Linux only)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except Exception:  # noqa: S110 - best effort; not available off Linux
        pass


def _terminate(proc: subprocess.Popen[bytes] | None, timeout: float = STOP_TIMEOUT) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _dns_label(text: str) -> str:
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return label[:50] or "user"


# --------------------------------------------------------------------------------------
# The control plane


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
        self._ca: CertificateAuthority | None = None
        self._admin_cert_pem = b""
        self._admin_key_pem = b""
        self._ssl: ssl.SSLContext | None = None
        self._lock = threading.Lock()

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
        return self._require_ca().cert_pem.decode("ascii")

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
        self._prepare_pki()
        state = self._read_state() if self.reuse_state else {}
        if not self.reuse_state:
            shutil.rmtree(self.etcd_data_dir, ignore_errors=True)

        attempts = 3
        for attempt in range(1, attempts + 1):
            self._pick_ports(state)
            try:
                self._start_etcd()
                self._start_apiserver()
                self._wait_ready()
            except _PortTaken:
                self._stop_processes()
                state = {}
                if attempt == attempts:
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
        return kubeconfig_yaml(
            server=self.server,
            ca_pem=self._require_ca().cert_pem,
            user="admin",
            cert_pem=self._admin_cert_pem,
            key_pem=self._admin_key_pem,
        )

    def write_admin_kubeconfig(self, path: str | os.PathLike[str]) -> Path:
        return _write_private(Path(path), self.admin_kubeconfig())

    def user_kubeconfig(
        self, username: str, *, groups: Sequence[str] = (), namespace: str = "default"
    ) -> str:
        """Kubeconfig for a client certificate with CN=username (and O=groups), no RBAC."""
        cert_pem, key_pem = self._require_ca().issue(username, organizations=groups, client=True)
        return kubeconfig_yaml(
            server=self.server,
            ca_pem=self._require_ca().cert_pem,
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
        role = f"secrets-{_dns_label(username)}"
        self.apply(
            f"/apis/rbac.authorization.k8s.io/v1/namespaces/{_q(namespace)}/roles/{role}",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": role, "namespace": namespace},
                "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": list(verbs)}],
            },
        )
        self.apply(
            f"/apis/rbac.authorization.k8s.io/v1/namespaces/{_q(namespace)}/rolebindings/{role}",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": role, "namespace": namespace},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": role,
                },
                "subjects": [
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": username}
                ],
            },
        )
        return self.user_kubeconfig(username, namespace=namespace)

    # -- admin REST helpers -----------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> Any:
        """Calls the API server as admin; returns the decoded JSON answer.

        Raises KubeAPIError on an HTTP error status (its .status holds the code).
        """
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        req = urllib.request.Request(  # noqa: S310 - always our https server URL
            self.server + path, data=data, method=method.upper(), headers=headers
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                req, context=self._admin_ssl(), timeout=timeout
            ) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            raise KubeAPIError(method.upper(), path, e.code, detail) from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode(errors="replace")

    def apply(self, path: str, obj: dict[str, Any]) -> Any:
        """Server-side apply of obj at path (creates or updates)."""
        query = urllib.parse.urlencode({"fieldManager": FIELD_MANAGER, "force": "true"})
        return self.request(
            "PATCH", f"{path}?{query}", obj, content_type="application/apply-patch+yaml"
        )

    def ensure_namespace(self, namespace: str) -> None:
        self.apply(
            f"/api/v1/namespaces/{_q(namespace)}",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        )

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
            _write_private(path, kubeconfig if kubeconfig is not None else self.admin_kubeconfig())
            return subprocess.run(
                [str(self.kubectl_path), "--kubeconfig", str(path), *args],
                capture_output=True,
                text=True,
                input=input,
                check=check,
                timeout=120,
            )

    # -- internals ------------------------------------------------------------------------

    def _require_ca(self) -> CertificateAuthority:
        if self._ca is None:
            raise ControlPlaneError("the control plane has not been started")
        return self._ca

    def _prepare_pki(self) -> None:
        pki = self.pki_dir
        pki.mkdir(parents=True, exist_ok=True)
        os.chmod(pki, 0o700)
        ca_crt, ca_key = pki / "ca.crt", pki / "ca.key"
        sa_key, sa_pub = pki / "service-account.key", pki / "service-account.pub"
        if self.reuse_state and ca_crt.exists() and ca_key.exists():
            self._ca = CertificateAuthority.load(ca_crt, ca_key)
        else:
            self._ca = CertificateAuthority.create()
            _write_private(ca_crt, self._ca.cert_pem)
            _write_private(ca_key, self._ca.key_pem)
        if not (self.reuse_state and sa_key.exists() and sa_pub.exists()):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _write_private(sa_key, _key_pem(key))
            _write_private(
                sa_pub,
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                ),
            )
        # Leaf certificates are always fresh; they are cheap.
        cert, key_pem = self._ca.issue(
            "kube-apiserver",
            dns_names=(
                "localhost",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ),
            ip_addresses=("127.0.0.1", KUBERNETES_SERVICE_IP),
            server=True,
        )
        _write_private(pki / "apiserver.crt", cert)
        _write_private(pki / "apiserver.key", key_pem)
        self._admin_cert_pem, self._admin_key_pem = self._ca.issue(
            "admin", organizations=("system:masters",), client=True
        )
        _write_private(pki / "admin.crt", self._admin_cert_pem)
        _write_private(pki / "admin.key", self._admin_key_pem)
        self._ssl = None

    def _admin_ssl(self) -> ssl.SSLContext:
        with self._lock:
            if self._ssl is None:
                ctx = ssl.create_default_context(cadata=self.ca_pem)
                ctx.load_cert_chain(self.pki_dir / "admin.crt", self.pki_dir / "admin.key")
                self._ssl = ctx
            return self._ssl

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
            if isinstance(wanted, int) and wanted > 0 and _port_is_free(wanted):
                return wanted
            return free_port()

        if self._requested_port:
            if not _port_is_free(self._requested_port):
                raise ControlPlaneError(f"port {self._requested_port} is already in use")
            self.secure_port = self._requested_port
        else:
            self.secure_port = choose(state.get("secure_port"))
        self.etcd_port = choose(state.get("etcd_port"))
        self.etcd_peer_port = choose(state.get("etcd_peer_port"))
        if len({self.secure_port, self.etcd_port, self.etcd_peer_port}) != 3:
            self.etcd_port, self.etcd_peer_port = free_port(), free_port()

    def _popen(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        # Tie the children to this process when we are on the main thread (the death
        # signal fires when the creating *thread* exits, which must not happen early).
        on_main = threading.current_thread() is threading.main_thread()
        with open(log, "wb") as out:
            return subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.work_dir,
                start_new_session=True,
                preexec_fn=_die_with_parent if on_main and sys.platform == "linux" else None,
            )

    def _start_etcd(self) -> None:
        assert self.bin_dir is not None
        client = f"http://127.0.0.1:{self.etcd_port}"
        peer = f"http://127.0.0.1:{self.etcd_peer_port}"
        log = self.work_dir / "etcd.log"
        self._etcd = self._popen(
            [
                str(self.bin_dir / "etcd"),
                "--name=pipeline-secrets",
                f"--data-dir={self.etcd_data_dir}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=pipeline-secrets={peer}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
            log,
        )
        deadline = time.monotonic() + 30
        while True:
            if self._etcd.poll() is not None:
                text = _tail(log)
                if "address already in use" in text:
                    raise _PortTaken()
                raise ControlPlaneError(f"etcd exited with {self._etcd.returncode}:\n{text}")
            try:
                with urllib.request.urlopen(f"{client}/health", timeout=2) as r:  # noqa: S310
                    if json.loads(r.read()).get("health") == "true":
                        return
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise ControlPlaneError(f"etcd did not become healthy:\n{_tail(log)}")
            time.sleep(0.2)

    def _start_apiserver(self) -> None:
        assert self.bin_dir is not None
        pki = self.pki_dir
        cert_dir = self.work_dir / "apiserver-certs"
        cert_dir.mkdir(exist_ok=True)
        args = [
            str(self.bin_dir / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.secure_port}",
            f"--cert-dir={cert_dir}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            "--authorization-mode=RBAC",
            f"--service-account-issuer={self.server}",
            f"--service-account-key-file={pki / 'service-account.pub'}",
            f"--service-account-signing-key-file={pki / 'service-account.key'}",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            "--disable-admission-plugins=ServiceAccount",
            "--allow-privileged=true",
            "--endpoint-reconciler-type=none",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            "--v=1",
            *self.extra_apiserver_args,
        ]
        self._apiserver = self._popen(args, self.work_dir / "kube-apiserver.log")

    def _wait_ready(self) -> None:
        assert self._apiserver is not None
        log = self.work_dir / "kube-apiserver.log"
        deadline = time.monotonic() + self.start_timeout
        last = ""
        while True:
            if self._apiserver.poll() is not None:
                text = _tail(log)
                if "address already in use" in text:
                    raise _PortTaken()
                raise ControlPlaneError(
                    f"kube-apiserver exited with {self._apiserver.returncode}:\n{text}"
                )
            try:
                with urllib.request.urlopen(  # noqa: S310
                    self.server + "/readyz", context=self._admin_ssl(), timeout=5
                ) as r:
                    if r.status == 200:
                        return
            except urllib.error.HTTPError as e:
                last = e.read().decode(errors="replace")
            except (OSError, ssl.SSLError) as e:
                last = str(e)
            if time.monotonic() > deadline:
                raise ControlPlaneError(
                    f"kube-apiserver was not ready after {self.start_timeout:.0f}s "
                    f"(last answer: {last[-2000:]})\n{_tail(log)}"
                )
            time.sleep(0.5)

    def _stop_processes(self) -> None:
        _terminate(self._apiserver)
        _terminate(self._etcd)
        self._apiserver = None
        self._etcd = None


class _PortTaken(Exception):
    """A port picked as free was taken before the server could bind it."""


def _q(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _write_private(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


# --------------------------------------------------------------------------------------
# Command line


def _pid_file(work_dir: Path) -> Path:
    return work_dir / "controlplane.pid"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(work_dir: Path) -> int | None:
    try:
        pid = int(_pid_file(work_dir).read_text().strip())
    except (OSError, ValueError):
        return None
    if not _pid_alive(pid):
        return None
    # A stale pid file may name a pid that now belongs to another program.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid  # no /proc: trust the pid file
    return pid if b"controlplane.py" in cmdline else None


def _cmd_up(args: argparse.Namespace) -> int:
    work_dir = Path(args.dir).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    running = _read_pid(work_dir)
    if running is not None:
        print(f"the control plane is already running in {work_dir} (pid {running})")
        print(work_dir / "admin.kubeconfig")
        return 0
    if args.detach:
        return _detach(args, work_dir)

    cp = ControlPlane(
        work_dir,
        args.bin_dir,
        secure_port=args.port or None,
        reuse_state=not args.fresh,
        start_timeout=args.timeout,
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    _pid_file(work_dir).write_text(f"{os.getpid()}\n")
    try:
        cp.start()
        kubeconfig = cp.write_admin_kubeconfig(work_dir / "admin.kubeconfig")
        (work_dir / "ready").write_text(cp.server + "\n")
        print(f"kube-apiserver {cp.server} is ready", flush=True)
        print(f"admin kubeconfig: {kubeconfig}", flush=True)
        print(f"try: {cp.kubectl_path} --kubeconfig {kubeconfig} get ns", flush=True)
        while not stop.wait(1.0):
            if not cp.running:
                print("etcd or kube-apiserver exited; see the logs in " + str(work_dir))
                return 1
        return 0
    finally:
        cp.stop()
        with contextlib.suppress(OSError):
            (work_dir / "ready").unlink()
        with contextlib.suppress(OSError):
            _pid_file(work_dir).unlink()


def _detach(args: argparse.Namespace, work_dir: Path) -> int:
    """Runs `up` in a new session with output in DIR/controlplane.log; waits for ready."""
    with contextlib.suppress(OSError):
        (work_dir / "ready").unlink()
    # Build (or find) the binaries here, so that the build's progress shows on the terminal.
    bin_dir = resolve_bin_dir(args.bin_dir)
    cmd = [sys.executable, str(Path(__file__).resolve()), "up", "--dir", str(work_dir)]
    cmd += ["--bin-dir", str(bin_dir)]
    if args.port:
        cmd += ["--port", str(args.port)]
    if args.fresh:
        cmd.append("--fresh")
    cmd += ["--timeout", str(args.timeout)]
    log = work_dir / "controlplane.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + args.timeout + 30
    while not (work_dir / "ready").exists():
        if proc.poll() is not None:
            print(f"the control plane failed to start; see {log}:", file=sys.stderr)
            print(_tail(log), file=sys.stderr)
            return 1
        if time.monotonic() > deadline:
            proc.terminate()
            print(f"the control plane did not start in time; see {log}", file=sys.stderr)
            return 1
        time.sleep(0.5)
    server = (work_dir / "ready").read_text().strip()
    print(f"kube-apiserver {server} is ready (pid {proc.pid}, log {log})")
    print(work_dir / "admin.kubeconfig")
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    work_dir = Path(args.dir).resolve()
    pid = _read_pid(work_dir)
    if pid is None:
        with contextlib.suppress(OSError):
            _pid_file(work_dir).unlink()
        print(f"no control plane is running in {work_dir}")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 2 * STOP_TIMEOUT + 5
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    # If the supervisor was killed hard, its children may have outlived it.
    state: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        state = json.loads((work_dir / "state.json").read_text())
    for key in ("apiserver_pid", "etcd_pid"):
        child = state.get(key)
        if isinstance(child, int) and _pid_alive(child) and _is_ours(child, work_dir):
            os.kill(child, signal.SIGTERM)
    with contextlib.suppress(OSError):
        _pid_file(work_dir).unlink()
    print(f"stopped the control plane in {work_dir}")
    return 0


def _is_ours(pid: int, work_dir: Path) -> bool:
    """Whether pid is an etcd/kube-apiserver started for work_dir (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return str(work_dir) in cmdline


def _cmd_kubeconfig(args: argparse.Namespace) -> int:
    """Writes a restricted kubeconfig for a running `up` in DIR."""
    work_dir = Path(args.dir).resolve()
    if _read_pid(work_dir) is None:
        print(f"no control plane is running in {work_dir}; run `up` first", file=sys.stderr)
        return 1
    cp = _attach(work_dir)
    text = cp.restricted_kubeconfig(args.namespace, args.user)
    out = Path(args.output) if args.output else work_dir / f"{_dns_label(args.user)}.kubeconfig"
    _write_private(out, text)
    print(out)
    return 0


def _attach(work_dir: Path) -> ControlPlane:
    """A ControlPlane object for one already running from work_dir (admin calls only)."""
    state = json.loads((work_dir / "state.json").read_text())
    cp = ControlPlane(work_dir, state["bin_dir"], reuse_state=True)
    cp.bin_dir = Path(state["bin_dir"])
    cp.secure_port = int(state["secure_port"])
    pki = cp.pki_dir
    cp._ca = CertificateAuthority.load(pki / "ca.crt", pki / "ca.key")
    cp._admin_cert_pem = (pki / "admin.crt").read_bytes()
    cp._admin_key_pem = (pki / "admin.key").read_bytes()
    return cp


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="controlplane.py", description="A local Kubernetes control plane."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start etcd + kube-apiserver and stay in the foreground")
    up.add_argument("--dir", required=True, help="state folder (PKI, etcd data, logs)")
    up.add_argument("--bin-dir", help="folder with etcd, kube-apiserver, kubectl")
    up.add_argument("--port", type=int, default=0, help="API server port (default: any free)")
    up.add_argument("--fresh", action="store_true", help="discard the CA and etcd data in DIR")
    up.add_argument("--detach", action="store_true", help="run in the background")
    up.add_argument("--timeout", type=float, default=START_TIMEOUT)
    up.set_defaults(func=_cmd_up)

    down = sub.add_parser("down", help="stop the control plane started with `up`")
    down.add_argument("--dir", required=True)
    down.set_defaults(func=_cmd_down)

    kc = sub.add_parser("kubeconfig", help="write a kubeconfig limited to Secrets in one namespace")
    kc.add_argument("--dir", required=True)
    kc.add_argument("--namespace", required=True)
    kc.add_argument("--user", required=True)
    kc.add_argument("--output", "-o", help="default: DIR/<user>.kubeconfig")
    kc.set_defaults(func=_cmd_kubeconfig)

    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ControlPlaneError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
