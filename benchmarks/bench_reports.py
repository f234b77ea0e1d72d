"""The WiSH-sized report batch: project page + 43 school pages.

Target (issue 8): within 60 s on this 2-core machine. Reports the time per page and the share
spent starting kernels (a bare kernel start is timed separately in the same run; the batch
starts one kernel per worker and reuses it for that worker's pages).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 60.0


def _bare_kernel_start() -> float:
    from partnerschap_eval.report.build import start_kernel

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        km = start_kernel(Path(tmp))
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        elapsed = time.perf_counter() - start
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return elapsed


def main() -> dict:
    from partnerschap_eval.report.build import ReportSettings, build_report
    from partnerschap_eval.synth import simulate_study

    study = simulate_study(seed=2014)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "responses.csv"
        study.responses.to_csv(path, index=False)
        kernel = statistics.median(_bare_kernel_start() for _ in range(3))
        start = time.perf_counter()
        outputs = build_report(ReportSettings(project="WiSH bench", instrument="partnerschap",
                                              responses=path, out_dir=Path(tmp) / "out"))
        total = time.perf_counter() - start
    schools = [v for k, v in outputs.page_seconds.items() if k != "project"]
    workers = os.cpu_count() or 1
    figures = {
        "pages": len(outputs.page_seconds),
        "total_seconds": round(total, 2),
        "target_seconds": TARGET_SECONDS,
        "target_met": total <= TARGET_SECONDS,
        "project_page_seconds": round(outputs.page_seconds["project"], 2),
        "school_page_seconds_median": round(statistics.median(schools), 3),
        "school_page_seconds_max": round(max(schools), 3),
        "bare_kernel_start_seconds": round(kernel, 3),
        "kernels_started": workers,
        "kernel_start_share": round(workers * kernel / (total * workers), 3),
    }
    print(f"{'pages':<32}{figures['pages']}")
    for key in ("total_seconds", "project_page_seconds", "school_page_seconds_median",
                "school_page_seconds_max", "bare_kernel_start_seconds", "kernel_start_share"):
        print(f"{key:<32}{figures[key]}")
    print(f"{'target (<= 60 s)':<32}{'met' if figures['target_met'] else 'MISSED'}")
    return figures


if __name__ == "__main__":
    main()
