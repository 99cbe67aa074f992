"""``make lint``'s code rules, beside ruff, mypy and import-linter.

``python -m tools.code_rules [ROOT]`` checks every .py file of the repository (not .venv,
var or hidden folders) and prints one ``path:line: rule: message`` line per violation;
the exit code is 1 when there is any:

* ``file-size``: a file other than tests and migrations has more than 450 lines;
* ``function-size``: a function outside tests has more than 50 lines (from its ``def`` to
  its last line, nested functions included);
* ``private-name``: a module uses another module's private name (``_y``): ``from x import
  _y``, or ``x._y`` on a module ``x`` it imported. A private submodule (``x._y`` a module)
  may be used inside its parent package ``x`` only, and so may anything under it
  (``from x._y import z``);
* ``tools-boundary``: tests import from tools only through the dev stack's pytest plugin,
  the dev stack never imports the benches, the product never imports tools;
* ``import-cycle``: modules that import each other, directly or through others (every
  import counts, also inside functions), in any package of the repository (grimp's graph).

Fix a violation where it is, never by listing it here: split the file along a seam, make
the name public in the module that owns it, or move the code.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_LINES = 450
MAX_FUNCTION_LINES = 50
SKIPPED_DIRS = {"var", "node_modules", "__pycache__", "build", "dist", "staticfiles"}
# tools' one module tests may import; the packages the dev stack must not import.
TEST_ENTRY = "tools.devstack.pytest_plugin"
BENCHES = "tools.bench"


@dataclass(frozen=True, order=True)
class Violation:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def within(module: str, package: str) -> bool:
    """Whether ``module`` is ``package`` or inside it."""
    return module == package or module.startswith(package + ".")


class Repository:
    """The .py files under ``root`` and the module names they define."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.files = sorted(self._walk(self.root))
        self.modules = {self.module_name(path) for path in self.files}

    def _walk(self, folder: Path) -> Iterator[Path]:
        for entry in folder.iterdir():
            if entry.is_dir():
                hidden = entry.name.startswith(".") or entry.name.endswith(".egg-info")
                if not hidden and entry.name not in SKIPPED_DIRS:
                    yield from self._walk(entry)
            elif entry.suffix == ".py":
                yield entry

    def relative(self, path: Path) -> Path:
        return path.relative_to(self.root)

    def module_name(self, path: Path) -> str:
        parts = list(self.relative(path).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)

    def is_package(self, path: Path) -> bool:
        return path.name == "__init__.py"

    def packages(self) -> list[str]:
        """The top-level packages (folders holding an ``__init__.py``)."""
        return sorted(
            path.parent.name
            for path in self.files
            if self.relative(path).parts[1:] == ("__init__.py",)
        )


def is_test(relative: Path) -> bool:
    name = relative.name
    return relative.parts[0] == "tests" or name.startswith("test_") or name == "conftest.py"


def is_migration(relative: Path) -> bool:
    return "migrations" in relative.parts


# --------------------------------------------------------------------------- sizes


def size_violations(relative: Path, text: str, tree: ast.AST) -> Iterator[Violation]:
    if is_test(relative):
        return
    where = str(relative)
    lines = len(text.splitlines())
    if lines > MAX_FILE_LINES and not is_migration(relative):
        yield Violation(where, 1, "file-size", f"{lines} lines (at most {MAX_FILE_LINES})")
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                message = f"{node.name}() has {length} lines (at most {MAX_FUNCTION_LINES})"
                yield Violation(where, node.lineno, "function-size", message)


# --------------------------------------------------------------------------- names


class NameChecker:
    """The private-name and tools-boundary rules for one module."""

    def __init__(self, repo: Repository, path: Path) -> None:
        self.repo = repo
        self.where = str(repo.relative(path))
        self.module = repo.module_name(path)
        # The package relative imports start from.
        self.package = self.module if repo.is_package(path) else self.module.rpartition(".")[0]
        # Local names bound to modules of the repository: name -> module.
        self.bound: dict[str, str] = {}
        self.found: list[Violation] = []

    def report(self, node: ast.AST, rule: str, message: str) -> None:
        self.found.append(Violation(self.where, getattr(node, "lineno", 1), rule, message))

    def check(self, tree: ast.AST) -> list[Violation]:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                self.visit_import(node)
            elif isinstance(node, ast.ImportFrom):
                self.visit_import_from(node)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                self.visit_attribute(node)
        return self.found

    def resolve(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = self.package.split(".")
        base = base[: len(base) - node.level + 1]
        return ".".join([*base, node.module] if node.module else base)

    def check_module_path(self, node: ast.AST, module: str) -> None:
        """Every private component of ``module`` must lie inside the importer's reach."""
        parts = module.split(".")
        for index, part in enumerate(parts):
            parent = ".".join(parts[:index])
            if is_private(part) and not (parent and within(self.module, parent)):
                self.report(node, "private-name", f"imports private module {module}")
                return

    def check_boundary(self, node: ast.AST, module: str) -> None:
        if not within(module, "tools"):
            return
        if self.where.startswith("tests/") and module != TEST_ENTRY:
            self.report(node, "tools-boundary", f"tests import {module}; use {TEST_ENTRY}")
        elif within(self.module, "tools.devstack") and within(module, BENCHES):
            self.report(node, "tools-boundary", f"the dev stack imports the benches ({module})")
        elif not within(self.module, "tools") and not self.where.startswith("tests/"):
            self.report(node, "tools-boundary", f"the product imports {module}")

    def visit_import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.check_module_path(node, alias.name)
            self.check_boundary(node, alias.name)
            if alias.asname:
                self.bound[alias.asname] = alias.name
            else:
                top = alias.name.partition(".")[0]
                self.bound[top] = top

    def visit_import_from(self, node: ast.ImportFrom) -> None:
        module = self.resolve(node)
        self.check_module_path(node, module)
        for alias in node.names:
            target = f"{module}.{alias.name}"
            self.check_boundary(node, target if target in self.repo.modules else module)
            if target in self.repo.modules:
                self.bound[alias.asname or alias.name] = target
            if not is_private(alias.name):
                continue
            if target in self.repo.modules:
                self.check_module_path(node, target)
            else:
                self.report(node, "private-name", f"imports {alias.name} from {module}")

    def visit_attribute(self, node: ast.Attribute) -> None:
        """``m._y`` where ``m`` (or ``a.b``) names a module this file imported."""
        if not is_private(node.attr):
            return
        module = self.module_of(node.value)
        if module is None or module == self.module:
            return
        target = f"{module}.{node.attr}"
        if target in self.repo.modules:
            self.check_module_path(node, target)
        else:
            self.report(node, "private-name", f"uses {node.attr} of module {module}")

    def module_of(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            module = self.bound.get(node.id)
            return module if module in self.repo.modules else None
        if isinstance(node, ast.Attribute):
            parent = self.module_of(node.value)
            if parent is not None and f"{parent}.{node.attr}" in self.repo.modules:
                return f"{parent}.{node.attr}"
        return None


# --------------------------------------------------------------------------- cycles


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of two or more modules that reach each other (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            step = next(edges, None)
            if step is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    groups.append(pop_group(node, stack, on_stack))
            elif step not in index:
                index[step] = low[step] = len(index)
                stack.append(step)
                on_stack.add(step)
                work.append((step, iter(sorted(graph.get(step, ())))))
            elif step in on_stack:
                low[node] = min(low[node], index[step])
    return [sorted(group) for group in groups if len(group) > 1]


def pop_group(root: str, stack: list[str], on_stack: set[str]) -> list[str]:
    group = []
    while True:
        member = stack.pop()
        on_stack.discard(member)
        group.append(member)
        if member == root:
            return group


def cycle_violations(repo: Repository) -> Iterator[Violation]:
    import grimp

    if str(repo.root) not in sys.path:
        sys.path.insert(0, str(repo.root))
    graph = grimp.build_graph(*repo.packages(), cache_dir=None)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    files = {repo.module_name(path): path for path in repo.files}
    for group in strongly_connected(edges):
        first = group[0]
        inside = sorted(edges[first] & set(group))
        details = graph.get_import_details(importer=first, imported=inside[0])
        line = int(details[0]["line_number"]) if details else 1
        where = str(repo.relative(files[first])) if first in files else first
        yield Violation(
            where, line, "import-cycle", "modules import each other: " + ", ".join(group)
        )


# --------------------------------------------------------------------------- main


def violations(repo: Repository) -> Iterator[Violation]:
    for path in repo.files:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
        yield from size_violations(repo.relative(path), text, tree)
        yield from NameChecker(repo, path).check(tree)
    yield from cycle_violations(repo)


def main(argv: Iterable[str] = ()) -> int:
    args = list(argv)
    root = Path(args[0]) if args else Path(__file__).resolve().parents[1]
    found = sorted(set(violations(Repository(root))))
    for violation in found:
        print(violation)
    if found:
        print(f"{len(found)} violation(s) of the code rules (tools/code_rules.py)", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
