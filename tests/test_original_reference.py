"""Without the original's reference files (ORIGINAL_REFERENCE_DIR), the compatibility tests
are deselected and named at the end of the run; everything else still runs; with
ORIGINAL_REFERENCE_REQUIRED=1 (CI) their absence is an error. Each case runs pytest in a
subprocess, collecting only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import original_reference

ROOT = Path(__file__).resolve().parent.parent
COMPAT_MODULES = (
    "tests/test_banzai_cli.py",
    "tests/test_original_openapi.py",
    "tests/test_types_original.py",
)
COLLECT_ONLY = ("-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider")
SHAPE_TEST = "tests/test_types_original.py::test_secret_types_answer_the_originals_shape"


def collect(reference: Path, *, required: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORIGINAL_REFERENCE")}
    env[original_reference.SETTING] = str(reference)
    if required:
        env[original_reference.REQUIRED] = "1"
    return subprocess.run(
        [sys.executable, *COLLECT_ONLY, *COMPAT_MODULES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def fill(folder: Path, *items: str) -> None:
    for item in items:
        target = folder / original_reference.FILES[item]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("stand-in\n")


def collected(output: str) -> set[str]:
    return {line for line in output.splitlines() if line.startswith("tests/")}


def test_without_the_reference_the_compatibility_tests_are_deselected_and_named(
    tmp_path: Path,
) -> None:
    result = collect(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "compatibility tests not run" in out
    assert f"{tmp_path / original_reference.FILES['cli']} not found" in out
    assert f"{tmp_path / original_reference.FILES['openapi']} not found" in out
    assert "set ORIGINAL_REFERENCE_DIR" in out
    ran = collected(out)
    # Named in the report, not collected to run; the other tests of the module still run.
    assert f"  {SHAPE_TEST}" in out and SHAPE_TEST not in ran
    assert not any(
        t.startswith(("tests/test_banzai_cli.py", "tests/test_original_openapi")) for t in ran
    )
    assert any(t.startswith("tests/test_types_original.py::") for t in ran)
    named = [line for line in out.splitlines() if line.startswith("  tests/")]
    assert f"{len(named)} compatibility test(s) deselected: neither run nor counted" in out
    assert f"({len(named)} deselected)" in out.splitlines()[-1]


def test_with_only_the_document_only_the_cli_tests_are_left_out(tmp_path: Path) -> None:
    fill(tmp_path, "openapi")
    result = collect(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    ran = collected(result.stdout)
    assert SHAPE_TEST in ran
    assert any(t.startswith("tests/test_original_openapi.py::") for t in ran)
    assert not any(t.startswith("tests/test_banzai_cli.py") for t in ran)
    assert "banzai-cli/banzai not found" in result.stdout
    assert "pipeline-openapi.yaml not found" not in result.stdout


def test_with_every_reference_file_nothing_is_left_out(tmp_path: Path) -> None:
    fill(tmp_path, *original_reference.FILES)
    result = collect(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "compatibility tests not run" not in result.stdout
    assert any(t.startswith("tests/test_banzai_cli.py::") for t in collected(result.stdout))


def test_required_and_absent_is_an_error(tmp_path: Path) -> None:
    result = collect(tmp_path, required=True)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "ORIGINAL_REFERENCE_REQUIRED=1 but" in result.stdout + result.stderr


def test_the_default_is_the_shared_folder_beside_the_checkout(monkeypatch) -> None:
    monkeypatch.delenv(original_reference.SETTING, raising=False)
    assert original_reference.reference_dir() == (ROOT.parent / "shared").resolve()
    monkeypatch.setenv(original_reference.SETTING, "elsewhere/ref")
    assert (
        original_reference.path("openapi") == ROOT / "elsewhere/ref/reference/pipeline-openapi.yaml"
    )
