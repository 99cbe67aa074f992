"""The control plane's processes: finding the binaries, the etcd and kube-apiserver command
lines, spawning them tied to this process, and waiting until they are healthy."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

from tools.devstack.kube.errors import ControlPlaneError
from tools.devstack.kube.pki import SERVICE_CLUSTER_IP_RANGE
from tools.devstack.proc import tail, wait_for

KUBE_DIR = Path(__file__).resolve().parent
BUILD_SCRIPT = KUBE_DIR / "build.sh"
BINARIES = ("etcd", "kube-apiserver", "kubectl")

# A probe returns None when the server is healthy, else what it answered (for errors).
Probe = Callable[[], str | None]


class PortTaken(Exception):
    """A port picked as free was taken before the server could bind it."""


# --------------------------------------------------------------------------------------
# Binaries


def build(*, quiet: bool = False) -> Path:
    """Runs build.sh (a no-op when the binaries are cached) and returns the bin dir."""
    if not shutil.which("bash"):
        raise ControlPlaneError(f"bash is needed to run {BUILD_SCRIPT}")
    stderr = subprocess.DEVNULL if quiet else None
    proc = subprocess.run(
        ["bash", str(BUILD_SCRIPT)],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ControlPlaneError(f"{BUILD_SCRIPT} failed with exit code {proc.returncode}")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if not lines:
        raise ControlPlaneError(f"{BUILD_SCRIPT} printed no bin dir")
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
# Command lines


def etcd_command(bin_dir: Path, data_dir: Path, port: int, peer_port: int) -> list[str]:
    """A single-member etcd on loopback that skips fsync (its data is throw-away)."""
    client = f"http://127.0.0.1:{port}"
    peer = f"http://127.0.0.1:{peer_port}"
    return [
        str(bin_dir / "etcd"),
        "--name=pipeline-secrets",
        f"--data-dir={data_dir}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=pipeline-secrets={peer}",
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ]


def apiserver_command(
    bin_dir: Path,
    *,
    pki_dir: Path,
    cert_dir: Path,
    etcd_port: int,
    secure_port: int,
    issuer: str,
    extra_args: Iterable[str] = (),
) -> list[str]:
    """kube-apiserver on 127.0.0.1:secure_port with RBAC and client-certificate auth."""
    return [
        str(bin_dir / "kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{etcd_port}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={secure_port}",
        f"--cert-dir={cert_dir}",
        f"--tls-cert-file={pki_dir / 'apiserver.crt'}",
        f"--tls-private-key-file={pki_dir / 'apiserver.key'}",
        f"--client-ca-file={pki_dir / 'ca.crt'}",
        "--authorization-mode=RBAC",
        f"--service-account-issuer={issuer}",
        f"--service-account-key-file={pki_dir / 'service-account.pub'}",
        f"--service-account-signing-key-file={pki_dir / 'service-account.key'}",
        f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
        "--disable-admission-plugins=ServiceAccount",
        "--allow-privileged=true",
        "--endpoint-reconciler-type=none",
        "--enable-priority-and-fairness=false",
        "--profiling=false",
        "--v=1",
        *extra_args,
    ]


# --------------------------------------------------------------------------------------
# Supervision


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGKILL it if the parent dies (Linux only)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except Exception:  # noqa: S110 - best effort; not available off Linux
        pass


def spawn(args: list[str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Starts ``args`` in its own session with its output in ``log`` (truncated)."""
    # Tie the children to this process when we are on the main thread (the death
    # signal fires when the creating *thread* exits, which must not happen early).
    on_main = threading.current_thread() is threading.main_thread()
    with open(log, "wb") as out:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent if on_main and sys.platform == "linux" else None,
        )


def check_alive(process: subprocess.Popen[bytes], name: str, log: Path) -> None:
    """Raises PortTaken or ControlPlaneError (with the end of the log) if it exited."""
    if process.poll() is None:
        return
    text = tail(log, 40)
    if "address already in use" in text:
        raise PortTaken()
    raise ControlPlaneError(f"{name} exited with {process.returncode}:\n{text}")


def wait_healthy(
    process: subprocess.Popen[bytes],
    name: str,
    log: Path,
    probe: Probe,
    *,
    timeout: float,
    interval: float = 0.2,
) -> None:
    """Waits until ``probe`` reports ``process`` healthy; raises if it exits or times out."""
    last = ""

    def healthy() -> bool:
        nonlocal last
        check_alive(process, name, log)
        answer = probe()
        if answer is None:
            return True
        last = answer
        return False

    def failed(message: str) -> ControlPlaneError:
        return ControlPlaneError(f"{message} (last answer: {last[-2000:]})\n{tail(log, 40)}")

    wait_for(healthy, timeout, f"{name} to be healthy", interval=interval, error=failed)


def etcd_probe(port: int) -> Probe:
    """A probe of etcd's /health endpoint on 127.0.0.1:port."""
    url = f"http://127.0.0.1:{port}/health"

    def probe() -> str | None:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                body = r.read()
            return None if json.loads(body).get("health") == "true" else body.decode()
        except (OSError, ValueError) as e:
            return str(e)

    return probe
