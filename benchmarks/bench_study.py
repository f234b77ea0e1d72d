"""Submitting to a study against the plain ingest of the same files (issue 18, target <= 1.5x).

* **Many files**: the demo study (43 schools) split as schools send it — one CSV per school x
  wave x role (2 waves x 3 roles: 246 files with answers, respondent numbers restarting at 1 in every
  school). Timed: ``Study.submit`` of every file (raw copy, ingest, Parquet rows per cell, one
  SQLite transaction per file) against ``ingest_exports`` + ``write_ingest_outputs`` of each file
  into its own folder (what a researcher runs per file today), and against one plain ingest of
  all files at once. Both sides key ids per school (``id_scope="per_school"``), so they do the
  same hashing.
* **One large export**: ``ROWS`` rows (default 1,000,000: 500 k parents x 2 waves, 40 schools,
  15 items) in one CSV with school, wave and role columns, submitted to a study against the plain
  ingest writing responses.csv, rejected.csv and the log.

Times are wall-clock, best of ``REPEATS`` (each study run into a fresh study folder). Run:
``.venv/bin/python -m benchmarks study`` (``PE_BENCH_STUDY_ROWS`` scales the large export).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_RATIO = 1.5
REPEATS = 2
ROWS = int(os.environ.get("PE_BENCH_STUDY_ROWS", "1000000"))
KEY = b"benchmark key, synthetic data only"


def _demo_files(folder: Path) -> list[tuple[Path, str, str, str]]:
    from partnerschap_eval.synth import simulate_study

    study = simulate_study(seed=2014)
    resp = study.responses.copy()
    resp["number"] = resp.groupby("school_id")["respondent_id"].rank(method="dense").astype(int)
    items = [c for c in resp.columns if c not in ("respondent_id", "wave", "role", "school_id",
                                                  "number")]
    files = []
    for (school, wave, role), part in resp.groupby(["school_id", "wave", "role"]):
        frame = part[["number", *items]].rename(columns={"number": "Deelnemernummer"})
        path = folder / f"{school}_{role}_{wave}.csv"
        frame.to_csv(path, index=False)
        files.append((path, str(school), str(wave), str(role)))
    return files


def _large_export(folder: Path, rows: int) -> Path:
    from partnerschap_eval.instruments import load_instrument

    items = load_instrument("partnerschap").item_ids
    rng = np.random.default_rng(18)
    people = rows // 2
    school = rng.integers(1, 41, size=people)
    number = np.zeros(people, dtype=np.int64)
    for s in range(1, 41):  # numbers restart per school
        mask = school == s
        number[mask] = np.arange(1, int(mask.sum()) + 1)
    frame = pd.DataFrame({
        "Deelnemernummer": np.tile(number, 2), "School": np.tile([f"S{s:02d}" for s in school], 2),
        "meting": np.repeat(["voormeting", "nameting"], people), "rol": "ouder"})
    codes = rng.integers(1, 6, size=(len(frame), len(items)))
    for j, item in enumerate(items):
        frame[item] = codes[:, j]
    path = folder / "groot.csv"
    frame.to_csv(path, index=False)
    return path


def _best(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> dict:
    from partnerschap_eval.ingest import ExportSpec, ingest_exports, write_ingest_outputs
    from partnerschap_eval.instruments import load_instrument
    from partnerschap_eval.study import Study

    inst = load_instrument("partnerschap")  # both sides get the parsed instrument
    tmp = Path(tempfile.mkdtemp(prefix="pe-bench-study-"))
    figures: dict = {}
    try:
        files = _demo_files(tmp)
        counter = iter(range(10**6))

        def submit_all() -> None:
            with Study.init(tmp / f"study{next(counter)}", "partnerschap", key=KEY) as study:
                for path, school, wave, role in files:
                    study.submit([path], school=school, wave=wave, role=role, key=KEY)

        def ingest_each() -> None:
            for i, (path, school, wave, role) in enumerate(files):
                res = ingest_exports([ExportSpec(path, wave=wave, role=role, school=school)],
                                     inst, KEY, id_scope="per_school")
                write_ingest_outputs(res, tmp / f"plain{next(counter)}-{i}")

        def ingest_once() -> None:
            res = ingest_exports([ExportSpec(p, wave=w, role=r, school=s)
                                  for p, s, w, r in files], inst, KEY,
                                 id_scope="per_school")
            write_ingest_outputs(res, tmp / f"plain-all{next(counter)}")

        submit_all()  # warm-up (imports, instrument cache)
        t_study, t_each, t_once = _best(submit_all), _best(ingest_each), _best(ingest_once)
        figures["many_files"] = {
            "files": len(files), "study_submit_s": round(t_study, 3),
            "plain_ingest_per_file_s": round(t_each, 3),
            "plain_ingest_all_at_once_s": round(t_once, 3),
            "ratio_vs_per_file": round(t_study / t_each, 2),
            "ratio_vs_all_at_once": round(t_study / t_once, 2)}
        print(f"{len(files)} demo files: study submit {t_study:.2f} s, plain ingest per file "
              f"{t_each:.2f} s (x{t_study / t_each:.2f}), plain ingest at once {t_once:.2f} s "
              f"(x{t_study / t_once:.2f}); target <= {TARGET_RATIO}x", flush=True)

        big = _large_export(tmp, ROWS)

        def submit_big() -> None:
            with Study.init(tmp / f"big{next(counter)}", "partnerschap", key=KEY,
                            waves=["pre", "post"]) as study:
                study.submit([big], key=KEY)

        def ingest_big() -> None:
            res = ingest_exports([ExportSpec(big)], inst, KEY, id_scope="per_school")
            write_ingest_outputs(res, tmp / f"plain-big{next(counter)}")

        t_sbig, t_ibig = _best(submit_big), _best(ingest_big)
        figures["large_export"] = {"rows": ROWS, "study_submit_s": round(t_sbig, 3),
                                   "plain_ingest_s": round(t_ibig, 3),
                                   "ratio": round(t_sbig / t_ibig, 2)}
        print(f"{ROWS:,} rows in one export: study submit {t_sbig:.2f} s, plain ingest "
              f"{t_ibig:.2f} s (x{t_sbig / t_ibig:.2f})", flush=True)
        figures["target_ratio"] = TARGET_RATIO
        figures["target_met"] = bool(figures["many_files"]["ratio_vs_per_file"] <= TARGET_RATIO
                                     and figures["large_export"]["ratio"] <= TARGET_RATIO)
    finally:
        for p in tmp.rglob("*"):
            if p.is_file():
                p.chmod(0o644)
        shutil.rmtree(tmp, ignore_errors=True)
    return figures


if __name__ == "__main__":
    main()
