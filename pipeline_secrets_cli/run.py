"""``run``: a program started with the selected secrets as environment variables, never
written to disk; its exit code is ours and our signals are its. ``--watch`` restarts it
when a selected secret changes (the versions are polled every few seconds)."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from types import FrameType

import click

from pipeline_secrets_cli import selection
from pipeline_secrets_cli.context import Settings, settings_of
from pipeline_secrets_cli.errors import CliError

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_GRACE_SECONDS = 10.0


class Child:
    """The program, with the signals we receive passed on to it."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.signalled = False
        for sig in FORWARDED:
            signal.signal(sig, self.forward)

    def forward(self, signum: int, frame: FrameType | None) -> None:
        self.signalled = True
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def start(self, command: tuple[str, ...], env: dict[str, str]) -> subprocess.Popen[bytes]:
        try:
            self.process = subprocess.Popen(list(command), env={**os.environ, **env})
        except OSError as exc:
            raise CliError(f"cannot start {command[0]}: {exc.strerror}", 127) from None
        return self.process

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def exit_status(returncode: int) -> int:
    """A child killed by a signal exits as a shell reports it: 128 + the signal."""
    return 128 - returncode if returncode < 0 else returncode


@dataclass(frozen=True)
class Launch:
    command: tuple[str, ...]
    maps: dict[str, str]
    upper: bool
    interval: int


def environment(settings: Settings, chosen: selection.Selection, launch: Launch) -> dict[str, str]:
    secrets = selection.fetch(settings, chosen)
    return selection.environment(secrets, launch.maps, upper=launch.upper)


def run_watching(settings: Settings, chosen: selection.Selection, launch: Launch) -> int:
    """Runs the program until it exits by itself, restarting it on every change."""
    child = Child()
    while True:
        seen = selection.versions(settings, chosen)
        process = child.start(launch.command, environment(settings, chosen, launch))
        while True:
            try:
                return exit_status(process.wait(launch.interval))
            except subprocess.TimeoutExpired:
                pass
            if child.signalled:
                continue  # stopping: wait for the program to finish
            try:
                now = selection.versions(settings, chosen)
            except CliError as exc:
                click.echo(f"pipeline-secrets: cannot check for changes: {exc.message}", err=True)
                continue
            if now != seen:
                changed = sorted(n for n in {*now, *seen} if now.get(n) != seen.get(n))
                click.echo(f"pipeline-secrets: {', '.join(changed)} changed; restarting", err=True)
                child.stop()
                break


@click.command(context_settings={"ignore_unknown_options": True})
@selection.options
@click.option("--map", "maps", multiple=True, help="KEY=ENV or SECRET.KEY=ENV (repeatable).")
@click.option("--upper", is_flag=True, help="Variable names in UPPER_SNAKE_CASE.")
@click.option("--watch", is_flag=True, help="Restart the program when a secret changes.")
@click.option("--interval", default=5, show_default=True, help="Seconds between checks.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def run(
    ctx: click.Context,
    names: tuple[str, ...],
    tags: tuple[str, ...],
    type_: str | None,
    maps: tuple[str, ...],
    upper: bool,
    watch: bool,
    interval: int,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND with the selected secrets as environment variables.

    Nothing is written to disk; COMMAND's exit code is returned and SIGINT, SIGTERM and
    SIGHUP are passed on to it. With --watch the secrets' versions are polled every
    --interval seconds and COMMAND is restarted (SIGTERM, then SIGKILL after 10 s) when
    one changes.
    """
    settings = settings_of(ctx)
    chosen = selection.Selection(names, tags, type_)
    launch = Launch(command, selection.parse_maps(maps), upper, max(1, interval))
    if watch:
        click.echo(f"pipeline-secrets: watching for changes (polling every {interval} s)", err=True)
        ctx.exit(run_watching(settings, chosen, launch))
    env = environment(settings, chosen, launch)
    ctx.exit(exit_status(Child().start(command, env).wait()))
