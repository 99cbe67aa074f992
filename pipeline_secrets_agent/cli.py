"""``pipeline-secrets-agent``: the command line of the in-cluster agent."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from pipeline_secrets_agent import __version__
from pipeline_secrets_agent.cluster import Cluster, api_client
from pipeline_secrets_agent.loop import Agent
from pipeline_secrets_agent.server import ServerClient

TOKEN_ENV = "PIPELINE_AGENT_TOKEN"
log = logging.getLogger("pipeline_secrets_agent")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pipeline-secrets-agent",
        description="Keep this cluster's Secrets equal to what the Pipeline Secrets server "
        "says: connects out to the server only, applies its changes, repairs drift.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--server", required=True, help="the server's base URL (https://...)")
    p.add_argument("--kubeconfig", help="a kubeconfig file (default: the pod's service account)")
    p.add_argument(
        "--token-file",
        type=Path,
        help=f"a file holding the agent token (default: the {TOKEN_ENV} variable)",
    )
    p.add_argument(
        "--namespace",
        action="append",
        dest="namespaces",
        metavar="NS",
        help="watch and manage this namespace only (repeatable; default: all namespaces)",
    )
    p.add_argument(
        "--resync-interval",
        type=positive,
        default=600.0,
        metavar="SECONDS",
        help="a full reconcile this often, as a safety net (default: 600)",
    )
    p.add_argument(
        "--heartbeat-interval",
        type=positive,
        default=30.0,
        metavar="SECONDS",
        help="report to the server at least this often when idle (default: 30)",
    )
    p.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="(default: INFO)",
    )
    return p


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def read_token(args: argparse.Namespace) -> str:
    """The agent token from ``--token-file`` or the environment; exits when there is none."""
    if args.token_file is not None:
        try:
            token = args.token_file.read_text().strip()
        except OSError as exc:
            raise SystemExit(
                f"Cannot read the token file {args.token_file}: {exc.strerror}"
            ) from None
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise SystemExit(f"No agent token: set {TOKEN_ENV} or pass --token-file.")
    return token


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    token = read_token(args)
    try:
        api = api_client(args.kubeconfig)
    except Exception as exc:  # the config loaders raise several kinds
        raise SystemExit(f"No Kubernetes configuration: {exc}") from None
    agent = Agent(
        ServerClient(args.server, token),
        Cluster(api, args.namespaces),
        resync_interval=args.resync_interval,
        heartbeat_interval=args.heartbeat_interval,
    )

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("Stopping (signal %d)", signum)
        agent.stop()
        # Out of a long-poll at once; what the worker was doing is done again next start.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("pipeline-secrets-agent %s: server %s", __version__, args.server)
    code = agent.run()
    if agent.fatal:
        print(
            f"pipeline-secrets-agent: {agent.fatal} Register a new token and restart.",
            file=sys.stderr,
        )
    return code
