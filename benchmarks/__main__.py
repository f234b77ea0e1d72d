"""Run every ``benchmarks/bench_*.py`` (or the names given) and collect their figures.

Each module exposes ``main() -> dict``: it prints its own table (our time, the peer's time in
the same run, the ratio, the target) and returns the figures, which are written to
``benchmarks/results/<name>.json`` for the notes.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    failed = []
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"\n=== benchmark: {name} ===", flush=True)
        start = time.perf_counter()
        figures = module.main()
        figures["wall_seconds_total"] = round(time.perf_counter() - start, 2)
        (out_dir / f"{name}.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
        if figures.get("target_met") is False:
            failed.append(name)
    if failed:
        print(f"\nTargets missed: {', '.join(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
