"""``make lint``'s code rules (tools/code_rules.py) on small trees made here: each rule
reports file:line when broken and nothing when kept; tools/ itself keeps them all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write(tree: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def rules(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.code_rules", str(tree)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def function(name: str, lines: int) -> str:
    """A function of exactly ``lines`` lines, ``def`` included."""
    return f"def {name}() -> None:\n" + "    x = 1\n" * (lines - 1)


def test_a_clean_tree_passes(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/a.py": function("fits", 50) + "\n" * 300,
            "app/b.py": "from app import a\nfrom app.a import fits\n\na.fits()\n",
            "app/types/__init__.py": "from app.types import _pem\n",
            "app/types/_pem.py": "def pem() -> None: ...\n",
            "app/types/tls.py": "from app.types._pem import pem\nfrom . import _pem\n",
            "app/migrations/__init__.py": "",
            "app/migrations/0001_big.py": "x = 1\n" * 600,
            "tests/__init__.py": "",
            "tests/test_x.py": function("test_long", 80) + "x = 1\n" * 500,
            "tests/test_y.py": "from tools.devstack.pytest_plugin import free_port\n",
        },
    )
    result = rules(tmp_path)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_sizes_are_reported_with_file_and_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/big.py": "x = 1\n" * 451,
            "app/long.py": "\n\n" + function("too_long", 51),
        },
    )
    result = rules(tmp_path)
    assert result.returncode == 1
    assert "app/big.py:1: file-size: 451 lines (at most 450)" in result.stdout
    assert "app/long.py:3: function-size: too_long() has 51 lines (at most 50)" in result.stdout


def test_private_names_of_other_modules_are_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/services.py": "def _helper() -> None: ...\n",
            "app/types/__init__.py": "",
            "app/types/_pem.py": "def pem() -> None: ...\n",
            "app/lifecycle.py": "from app.services import _helper\n",
            "app/other.py": "from app import services\n\nservices._helper()\n",
            "app/dotted.py": "import app.services\n\napp.services._helper()\n",
            "app/outside.py": "from app.types import _pem\nfrom app.types._pem import pem\n",
        },
    )
    out = rules(tmp_path).stdout
    assert "app/lifecycle.py:1: private-name: imports _helper from app.services" in out
    assert "app/other.py:3: private-name: uses _helper of module app.services" in out
    assert "app/dotted.py:3: private-name: uses _helper of module app.services" in out
    assert "app/outside.py:1: private-name: imports private module app.types._pem" in out
    assert "app/outside.py:2: private-name: imports private module app.types._pem" in out


def test_tools_boundaries_are_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/__init__.py": "from tools.devstack import proc\n",
            "tools/__init__.py": "",
            "tools/devstack/__init__.py": "",
            "tools/devstack/proc.py": "from tools.bench import report\n",
            "tools/bench/__init__.py": "",
            "tools/bench/report.py": "",
            "tests/__init__.py": "",
            "tests/test_z.py": "from tools.devstack.proc import free_port\n",
        },
    )
    out = rules(tmp_path).stdout
    assert "app/__init__.py:1: tools-boundary: the product imports tools.devstack.proc" in out
    assert "tools/devstack/proc.py:1: tools-boundary: the dev stack imports" in out
    assert "tests/test_z.py:1: tools-boundary: tests import tools.devstack.proc" in out


def test_an_import_cycle_is_reported_even_through_a_function(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "cyc/__init__.py": "",
            "cyc/cli.py": "from cyc.plane import Plane\n",
            "cyc/plane.py": "class Plane: ...\n\n\ndef main() -> None:\n    from cyc import cli\n",
        },
    )
    result = rules(tmp_path)
    assert result.returncode == 1
    assert "cyc/cli.py:1: import-cycle: modules import each other: cyc.cli, cyc.plane" in (
        result.stdout
    )


def test_tools_keep_every_rule() -> None:
    out = rules(ROOT).stdout
    assert [line for line in out.splitlines() if line.startswith("tools/")] == []
