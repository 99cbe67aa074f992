"""``make bench``: the product's speed against baselines measured in the same run.

Everything runs on this machine against one real OpenBao: the API through gunicorn (one
worker, as ``make run`` serves it) with token auth, the baselines with raw hvac, the
original product's method, or the command-line programs. Each row prints medians and the
ratio ours/baseline (for "faster than" rows, baseline/ours). Nothing here is a test: rows
report what they measured, including misses.

``python -m tools.bench [ROW ...]`` measures only the named rows (``make bench ROWS="read
create"``); without names, every row in tools.bench.registry, in its order.

Adding a row: in one of the row modules (or a new one listed in registry.ROW_MODULES),
write a function taking the started ``Bench`` (harness.py: its app URL, the bench org's
token-authenticated ``http`` session, a raw hvac client, Django in-process with
``setup_django()``) and returning the ``Row``s it measured, and decorate it with
``@bench_row("name")``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tools.bench.harness import Bench
from tools.bench.registry import rows
from tools.bench.report import Row, print_table


def main(argv: list[str]) -> int:
    registry = rows()
    chosen = argv or list(registry)
    unknown = sorted(set(chosen) - set(registry))
    if unknown:
        print(f"unknown rows {unknown}; choose from {', '.join(registry)}", file=sys.stderr)
        return 2
    measured: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="ps-bench-") as tmp:
        bench = Bench(Path(tmp))
        try:
            bench.start()
            for name, row in registry.items():
                if name in chosen:
                    measured.extend(row(bench))
        finally:
            bench.stop()
    print_table(measured)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
