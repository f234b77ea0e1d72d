#!/usr/bin/env python3
"""Deterministic data for the designs/measurement R references (issue 17, part 2).

Writes CSVs to ``tests/reference/designs/data/``; each data set has its own
``numpy.random.default_rng`` seed, so re-running reproduces them byte for byte.
Numbers are written with ``repr`` (shortest round-trip), so R parses the same doubles.

Usage:  python3 tests/reference/designs/make_designs_data.py   (then Rscript .../designs.R)
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "data"


def cell(v) -> str:
    if isinstance(v, str):
        return v
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v))


def write(name: str, header: list[str], rows) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / name, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows([[cell(v) for v in r] for r in rows])


def ties() -> None:
    """Pairs whose differences are equal in decimals but not in binary (3.25 - 3.1 vs 0.15)."""
    rng = np.random.default_rng(1701)
    rows = []
    for i in range(40):
        pre = int(rng.integers(10, 46)) / 10 + float(rng.choice([0.0, 0.05]))
        delta = float(rng.choice([0.15, -0.15, 0.05, 0.1, 0.25, -0.05, 0.35]))
        post = float(f"{pre + delta:.2f}")  # the decimal value, as an export would hold it
        pre = float(f"{pre:.2f}")
        if i in (3, 17):
            post = pre  # exact zero differences are dropped
        rows.append([i + 1, pre, post])
    write("ties.csv", ["id", "pre", "post"], rows)


def conditions() -> None:
    """Long scores of two arms, two waves, three scales with growing baseline differences."""
    rng = np.random.default_rng(1702)
    rows = []
    shift = {"rec": 0.02, "twc": 0.15, "sdm": 0.45}
    rid = 0
    for cond, n, n_schools in (("intervention", 58, 4), ("control", 41, 3)):
        for _ in range(n):
            rid += 1
            school = f"{cond[0].upper()}{int(rng.integers(1, n_schools + 1))}"
            base = {s: 3.0 + (shift[s] if cond == "intervention" else 0.0)
                    + 0.7 * float(rng.normal()) for s in shift}
            drop = rng.random() < (0.25 if cond == "intervention" else 0.12)
            for wave in ("pre", "post"):
                if wave == "post" and drop:
                    continue
                vals = [round(base[s] + (0.3 if wave == "post" else 0.0)
                              + 0.4 * float(rng.normal()), 3) for s in shift]
                # a few missing scale scores (fewer than min_items answered)
                vals = [np.nan if rng.random() < 0.05 else v for v in vals]
                rows.append([f"r{rid:03d}", school, cond, wave, *vals])
    write("conditions.csv", ["respondent_id", "school_id", "condition", "wave", *shift], rows)


def longitudinal(name: str, waves: list[str], n: int, seed: int, intercept_shift: float) -> None:
    """One factor per wave, 4 items, item-specific residual factors (so residuals of the same
    item correlate across waves); item 3's intercept moves by ``intercept_shift`` at the last
    wave (scalar non-invariance of one item)."""
    rng = np.random.default_rng(seed)
    t = len(waves)
    lam = np.array([1.0, 0.8, 0.9, 0.7])
    nu = np.array([3.0, 2.8, 3.2, 2.9])
    fac_corr = 0.6 * np.ones((t, t)) + 0.4 * np.eye(t)
    f = rng.multivariate_normal(0.2 * np.arange(t), 0.5 * fac_corr, size=n)
    spec = 0.3 * rng.normal(size=(n, 4))
    cols, data = [], []
    for w, wave in enumerate(waves):
        shift = np.zeros(4)
        if w == t - 1:
            shift[2] = intercept_shift
        x = nu + shift + f[:, [w]] * lam + spec + 0.45 * rng.normal(size=(n, 4))
        data.append(np.round(x, 3))
        cols += [f"x{i + 1}_{wave}" for i in range(4)]
    mat = np.hstack(data)
    write(name, ["id", *cols], [[i + 1, *row] for i, row in enumerate(mat)])


def mi_completed() -> None:
    """An incomplete pre/post data set (.imp = 0) and 20 arbitrary completions (.imp 1..20):
    the pooling is tested on these fixed completions, not on our imputer."""
    rng = np.random.default_rng(1704)
    n = 40
    school = np.repeat(["A", "B", "C", "D"], 10)
    pre = np.round(3 + 0.6 * rng.normal(size=n), 2)
    post = np.round(pre + 0.25 + 0.5 * rng.normal(size=n), 2)
    miss_post = rng.random(n) < 0.2
    miss_pre = (rng.random(n) < 0.1) & ~miss_post
    rows = []
    for imp in range(21):
        p0 = pre.copy()
        p1 = post.copy()
        if imp == 0:
            p0[miss_pre] = np.nan
            p1[miss_post] = np.nan
        else:
            p0[miss_pre] = np.round(3 + 0.6 * rng.normal(size=miss_pre.sum()), 2)
            p1[miss_post] = np.round(p0[miss_post] + 0.25 + 0.6 * rng.normal(
                size=miss_post.sum()), 2)
        rows += [[imp, i + 1, school[i], p0[i], p1[i]] for i in range(n)]
    write("mi_completed.csv", [".imp", ".id", "school_id", "pre", "post"], rows)


def keyed_items() -> None:
    """Six 1-5 items; a4..a6 worded the other way (reverse in the total)."""
    rng = np.random.default_rng(1705)
    n = 120
    f = rng.normal(size=n)
    rows = []
    for i in range(n):
        vals = []
        for j in range(6):
            sign = 1 if j < 3 else -1
            v = int(np.clip(np.rint(3 + sign * 0.9 * f[i] + 0.8 * rng.normal()), 1, 5))
            vals.append(np.nan if rng.random() < 0.06 else v)
        rows.append([f"k{i + 1:03d}", *vals])
    write("keyed_items.csv", ["respondent_id", *[f"a{j}" for j in range(1, 7)]], rows)


if __name__ == "__main__":
    ties()
    conditions()
    longitudinal("long_2w.csv", ["pre", "post"], 450, 1703, 0.0)
    longitudinal("long_3w.csv", ["T0", "T1", "T2"], 380, 1713, 0.45)
    mi_completed()
    keyed_items()
