"""The benchmark table: rows, the median of timed runs, and the Markdown the README shows."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass
class Row:
    name: str
    ours_ms: float | None
    base_ms: float | None
    target: str
    met: bool
    note: str = ""

    @property
    def ratio(self) -> str:
        if self.ours_ms is None or self.base_ms is None or self.base_ms == 0:
            return "-"
        return f"{self.ours_ms / self.base_ms:.2f}"


def median_ms(fn: Callable[[int], object], runs: int, warmup: int = 5) -> float:
    for i in range(warmup):
        fn(-1 - i)
    samples = []
    for i in range(runs):
        start = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def interleaved_medians(
    fns: Mapping[str, Callable[[int], object]], runs: int, warmup: int = 5
) -> dict[str, float]:
    """The median ms of each function, called in turn (a, b, c, a, b, c, ...): on a shared
    machine a busy moment then slows every series alike, so their ratios stay fair."""
    for i in range(warmup):
        for fn in fns.values():
            fn(-1 - i)
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn(i)
            samples[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def print_table(rows: list[Row]) -> None:
    """The README table: machine line, then a row per benchmark."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    print(
        f"\nMachine: {os.cpu_count()} cores ({cpu}), "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB; "
        "OpenBao raft on local disk; app: gunicorn 1 worker x 4 threads, SQLite.\n"
    )
    print("| benchmark | ours (median) | baseline (median) | ratio | target | met |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    for r in rows:
        ours = f"{r.ours_ms:.2f} ms" if r.ours_ms is not None else r.note
        base = f"{r.base_ms:.2f} ms" if r.base_ms is not None else "-"
        ratio = r.ratio if r.ours_ms is not None and r.base_ms is not None else "-"
        if r.note and r.ours_ms is not None:
            ratio = r.note if "faster" in r.note else f"{ratio} ({r.note})"
        print(f"| {r.name} | {ours} | {base} | {ratio} | {r.target} | {'yes' if r.met else 'NO'} |")
