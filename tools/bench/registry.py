"""The bench's rows, by name. A row is a function taking the started ``Bench`` and
returning the table rows it measured; ``@bench_row("name")`` registers it under the name
``make bench ROWS="name"`` selects. Rows run in the order their modules (ROW_MODULES) and
their definitions come."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

from tools.bench.harness import Bench
from tools.bench.report import Row

RowFunction = Callable[[Bench], Iterable[Row]]

# The modules defining rows, in the order their rows run.
ROW_MODULES = (
    "tools.bench.rows_api",
    "tools.bench.rows_data",
    "tools.bench.rows_sync",
    "tools.bench.rows_agent",
    "tools.bench.rows_lifecycle",
    "tools.bench.rows_types",
    "tools.bench.rows_databases",
)

REGISTRY: dict[str, RowFunction] = {}


def bench_row(name: str) -> Callable[[RowFunction], RowFunction]:
    """Register the decorated function as the row ``name``."""

    def register(function: RowFunction) -> RowFunction:
        if name in REGISTRY:
            raise ValueError(f"two bench rows are named {name!r}")
        REGISTRY[name] = function
        return function

    return register


def rows() -> dict[str, RowFunction]:
    """Every row, by name, in the order they run."""
    for module in ROW_MODULES:
        importlib.import_module(module)
    return dict(REGISTRY)
