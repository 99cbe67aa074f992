"""The control plane's command line (run it as ``python -m tools.devstack.kube``)::

up --dir DIR [--detach] [--port N] [--fresh]    start; --detach returns once ready
kubeconfig --dir DIR --namespace NS --user NAME  a kubeconfig for Secrets in NS only
down --dir DIR                                   stop what `up` started in DIR
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.devstack.kube.api import dns_label
from tools.devstack.kube.controlplane import START_TIMEOUT, STOP_TIMEOUT, ControlPlane
from tools.devstack.kube.errors import ControlPlaneError
from tools.devstack.kube.processes import resolve_bin_dir
from tools.devstack.proc import REPO_ROOT, pid_alive, tail, write_private

# The module that runs this command line; `down` recognises the supervisor by its name.
MODULE = "tools.devstack.kube"


def _pid_file(work_dir: Path) -> Path:
    return work_dir / "controlplane.pid"


def _read_pid(work_dir: Path) -> int | None:
    try:
        pid = int(_pid_file(work_dir).read_text().strip())
    except (OSError, ValueError):
        return None
    if not pid_alive(pid):
        return None
    # A stale pid file may name a pid that now belongs to another program.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid  # no /proc: trust the pid file
    return pid if MODULE.encode() in cmdline else None


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
    cmd = [sys.executable, "-m", MODULE, "up", "--dir", str(work_dir)]
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
            cwd=REPO_ROOT,
            start_new_session=True,
        )
    deadline = time.monotonic() + args.timeout + 30
    while not (work_dir / "ready").exists():
        if proc.poll() is not None:
            print(f"the control plane failed to start; see {log}:", file=sys.stderr)
            print(tail(log, 40), file=sys.stderr)
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
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    # If the supervisor was killed hard, its children may have outlived it.
    state: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        state = json.loads((work_dir / "state.json").read_text())
    for key in ("apiserver_pid", "etcd_pid"):
        child = state.get(key)
        if isinstance(child, int) and pid_alive(child) and _is_ours(child, work_dir):
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
    cp = ControlPlane.attach(work_dir)
    text = cp.restricted_kubeconfig(args.namespace, args.user)
    out = Path(args.output) if args.output else work_dir / f"{dns_label(args.user)}.kubeconfig"
    write_private(out, text)
    print(out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}", description="A local Kubernetes control plane."
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
