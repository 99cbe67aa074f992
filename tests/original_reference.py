"""The original product's reference files, for the compatibility tests: its command-line
client and its OpenAPI document, found under one setting, ``ORIGINAL_REFERENCE_DIR``
(default ``../shared`` beside the checkout; a relative value is taken from the repository
root).

A pytest plugin too (``-p tests.original_reference`` in pyproject's options): a test that
needs one of the files carries ``@pytest.mark.original_reference("cli")`` (or
``"openapi"``). When the file is absent, the test is deselected, never run, passed or
skipped, and the end of the run says which tests could not run and why, so a clone
without the reference files still passes everything else. With
``ORIGINAL_REFERENCE_REQUIRED=1`` (CI) an absent file is an error instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

SETTING = "ORIGINAL_REFERENCE_DIR"
REQUIRED = "ORIGINAL_REFERENCE_REQUIRED"
MARKER = "original_reference"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT = Path("..") / "shared"
# What each marker argument names, relative to the reference folder.
FILES = {
    "cli": Path("tools") / "banzai-cli" / "banzai",
    "openapi": Path("reference") / "pipeline-openapi.yaml",
}
NOT_RUN = pytest.StashKey[list[tuple[str, str]]]()


def reference_dir() -> Path:
    """The folder holding the original's reference files."""
    configured = os.environ.get(SETTING, "").strip()
    return (REPO_ROOT / (configured or DEFAULT)).resolve()


def path(item: str) -> Path:
    """The reference file ``item`` (a key of FILES), whether or not it exists."""
    return reference_dir() / FILES[item]


def absent(items: list[str]) -> str | None:
    """Why the reference files ``items`` cannot be used, or None when all are there."""
    unknown = sorted(set(items) - set(FILES))
    if unknown:
        raise pytest.UsageError(f"unknown {MARKER} item(s) {unknown}; known: {sorted(FILES)}")
    missing = [str(path(item)) for item in items if not path(item).is_file()]
    if not missing:
        return None
    return f"{', '.join(missing)} not found (set {SETTING} to the original's reference folder)"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the tests whose reference files are absent (after -m and -k chose)."""
    kept: list[pytest.Item] = []
    not_run: list[tuple[str, str]] = []
    for item in items:
        needed = [arg for mark in item.iter_markers(MARKER) for arg in mark.args]
        reason = absent(needed) if needed else None
        if reason is None:
            kept.append(item)
        else:
            not_run.append((item.nodeid, reason))
    if not_run and os.environ.get(REQUIRED, "") == "1":
        raise pytest.UsageError(f"{REQUIRED}=1 but {not_run[0][1]}")
    config.stash[NOT_RUN] = not_run
    if not_run:
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """At the end of the run: the compatibility tests that could not run, and why."""
    not_run = config.stash.get(NOT_RUN, [])
    if not not_run:
        return
    reasons = sorted({reason for _, reason in not_run})
    terminalreporter.section("compatibility tests not run", sep="-", yellow=True)
    for reason in reasons:
        terminalreporter.write_line(f"{MARKER}: {reason}; not run:")
        for nodeid, why in not_run:
            if why == reason:
                terminalreporter.write_line(f"  {nodeid}")
    terminalreporter.write_line(
        f"{len(not_run)} compatibility test(s) deselected: neither run nor counted as passed"
    )
