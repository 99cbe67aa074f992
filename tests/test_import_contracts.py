"""The import contracts of ``make lint`` hold, and break when a view or the cluster code
reaches for the Vault store or code outside ``clusters.kube`` imports the Kubernetes client:
a copy of the tree with such an import is linted for real."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

# The packages the contracts name: the ones pyproject.toml gives import-linter.
PACKAGES = tuple(
    tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["tool"][
        "importlinter"
    ]["root_packages"]
)
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_copy(repo_root: Path, tmp_path: Path, probe: tuple[str, str] | None) -> str:
    """Run import-linter on a copy of the packages, with ``probe`` (module path, source line)
    added; its output."""
    for package in PACKAGES:
        shutil.copytree(
            repo_root / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(repo_root / "pyproject.toml", tmp_path / "pyproject.toml")
    if probe is not None:
        module, line = probe
        target = tmp_path / module
        target.write_text(target.read_text() + f"\n{line}\n")
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.stdout + result.stderr


def test_the_contracts_hold_on_the_tree(repo_root: Path, tmp_path: Path) -> None:
    output = lint_copy(repo_root, tmp_path, None)
    assert "BROKEN" not in output and "0 broken" in output, output


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("clusters/views.py", "from secrets_app import vault  # noqa"),
        ("secrets_app/views.py", "from secrets_app.vault import read  # noqa"),
        ("secrets_app/selectors.py", "import hvac  # noqa"),
    ],
)
def test_a_view_or_the_cluster_code_reading_the_store_breaks_the_lint(
    repo_root: Path, tmp_path: Path, module: str, line: str
) -> None:
    output = lint_copy(repo_root, tmp_path, (module, line))
    assert "Only the store, the values service and the write services talk to Vault BROKEN" in (
        output
    ), output


def test_cluster_code_outside_the_client_package_importing_kubernetes_breaks_the_lint(
    repo_root: Path, tmp_path: Path
) -> None:
    output = lint_copy(repo_root, tmp_path, ("clusters/services.py", "import kubernetes  # noqa"))
    assert "Only the Kubernetes client package imports kubernetes BROKEN" in output, output


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("notifications/services.py", "from audit import services as trail  # noqa"),
        ("orgs/services.py", "from accounts import signin  # noqa"),
    ],
)
def test_a_lower_app_or_a_sibling_importing_another_breaks_the_layers(
    repo_root: Path, tmp_path: Path, module: str, line: str
) -> None:
    output = lint_copy(repo_root, tmp_path, (module, line))
    assert "Apps depend one way" in output and "-> core BROKEN" in output, output
