#!/usr/bin/env python3
"""Deterministic generator for the R reference fixtures.

Writes small CSV files to ``tests/reference/data/``. Every dataset uses its own
``numpy.random.default_rng`` seed, so re-running this script reproduces the
files byte for byte (given the same numpy major version; the Generator's
PCG64 stream and its normal/integer samplers are stable across numpy >= 1.17).

Only numpy and the standard library are needed. ``bfi_items.csv`` is not
written here: ``reference.R`` exports it from the psychTools package.

Usage:  python3 tests/reference/make_data.py
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "data"


def fmt(value: float, decimals: int = 4) -> str:
    """Format a number with fixed decimals; NaN becomes an empty cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{decimals}f}"


def write_csv(name: str, header: list[str], rows: list[list[str]]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / name, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


# ---------------------------------------------------------------------------
# sleep_wide.csv -- R's datasets::sleep (Cushny & Peebles), wide.
# pre = group 1 (drug 1), post = group 2 (drug 2). reference.R checks that
# these values equal R's built-in copy.
# ---------------------------------------------------------------------------
def make_sleep() -> None:
    g1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    g2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    rows = [[str(i + 1), fmt(a, 1), fmt(b, 1)] for i, (a, b) in enumerate(zip(g1, g2, strict=True))]
    write_csv("sleep_wide.csv", ["id", "pre", "post"], rows)


# ---------------------------------------------------------------------------
# paired_a.csv -- n = 60, continuous, true standardized effect about 0.4.
# Rows 0-3: post == pre (zero differences, dropped by Wilcoxon).
# Rows 4-8: dyadic values (exact in binary) so |post - pre| ties exactly:
#           +0.5, +0.5, -0.5, +0.25, +0.25.
# Row 10 repeats row 9's pre value (tie in pre); row 12 duplicates row 11
# entirely (identical difference, a tie that is not dyadic).
# ---------------------------------------------------------------------------
def make_paired_a() -> None:
    rng = np.random.default_rng(20240611)
    n = 60
    sd_pre = 0.6
    pre = 3.2 + sd_pre * rng.standard_normal(n)
    post = pre + 0.4 * sd_pre + 0.45 * rng.standard_normal(n)
    pre = np.round(pre, 4)
    post = np.round(post, 4)
    post[0:4] = pre[0:4]  # zero differences
    dyadic = [(3.25, 3.75), (2.5, 3.0), (3.5, 3.0), (3.125, 3.375), (2.875, 3.125)]
    for k, (a, b) in enumerate(dyadic, start=4):
        pre[k], post[k] = a, b
    pre[10] = pre[9]  # tie in pre
    pre[12], post[12] = pre[11], post[11]  # duplicated row -> tied difference
    rows = [[str(i + 1), fmt(pre[i]), fmt(post[i])] for i in range(n)]
    write_csv("paired_a.csv", ["id", "pre", "post"], rows)


# ---------------------------------------------------------------------------
# paired_b.csv -- n = 25, small negative effect, scale score = mean of four
# 1..5 items, hence multiples of 0.25 (exact in binary) with many ties.
# ---------------------------------------------------------------------------
def make_paired_b() -> None:
    rng = np.random.default_rng(20240612)
    n = 25
    theta = rng.standard_normal(n)

    def wave(shift: float) -> np.ndarray:
        latent = 3.2 + 0.8 * theta[:, None] + shift + 0.7 * rng.standard_normal((n, 4))
        items = np.clip(np.rint(latent), 1, 5)
        return items.mean(axis=1)

    pre = wave(0.0)
    post = wave(-0.2)
    rows = [[str(i + 1), fmt(pre[i], 2), fmt(post[i], 2)] for i in range(n)]
    write_csv("paired_b.csv", ["id", "pre", "post"], rows)


# ---------------------------------------------------------------------------
# long_missing.csv -- long format for pairing and mixed models.
# score = 3 + u_school + u_resp + 0.25*[wave == post] + 0.15*[role == teacher] + e
#   u_school ~ N(0, 0.3^2), u_resp ~ N(0, 0.5^2), e ~ N(0, 0.5^2).
# 30 schools, 11..19 respondents each (about 15), ~30 % teachers.
# Attrition: ~20 % of respondents have no post row. A few (~3 %) of the others
# have no pre row (late joiners). ~5 % of the remaining rows have an empty
# score (missing scale score). Respondent ids are unique across schools.
# ---------------------------------------------------------------------------
def make_long_missing() -> None:
    rng = np.random.default_rng(20240613)
    n_schools = 30
    rows = []
    rid = 0
    for s in range(n_schools):
        school = f"S{s + 1:02d}"
        u_s = 0.3 * rng.standard_normal()
        m = int(rng.integers(11, 20))
        for _ in range(m):
            rid += 1
            resp = f"R{rid:04d}"
            role = "teacher" if rng.random() < 0.3 else "parent"
            u_r = 0.5 * rng.standard_normal()
            base = 3.0 + u_s + u_r + (0.15 if role == "teacher" else 0.0)
            y_pre = base + 0.5 * rng.standard_normal()
            y_post = base + 0.25 + 0.5 * rng.standard_normal()
            u = rng.random()
            has_post = u >= 0.20
            has_pre = not (has_post and u < 0.23)
            for wave, y, present in (("pre", y_pre, has_pre), ("post", y_post, has_post)):
                if not present:
                    continue
                score = float("nan") if rng.random() < 0.05 else round(y, 4)
                rows.append([resp, school, role, wave, fmt(score)])
    write_csv("long_missing.csv", ["respondent_id", "school_id", "role", "wave", "score"], rows)


# ---------------------------------------------------------------------------
# items_synth.csv / items_synth_complete.csv -- 3 correlated factors x 4 items,
# 1..5 responses obtained by thresholding y* = lambda*eta + sqrt(1-lambda^2)*eps.
# Same loadings, thresholds and latent distribution in all three roles
# (200 each), so measurement invariance holds in the population.
# items_synth.csv blanks ~3 % of item cells completely at random.
# ---------------------------------------------------------------------------
SCALES = {
    "rec": [0.75, 0.70, 0.65, 0.60],
    "twc": [0.80, 0.72, 0.68, 0.62],
    "sdm": [0.70, 0.66, 0.74, 0.58],
}
PHI = np.array([[1.00, 0.45, 0.35], [0.45, 1.00, 0.50], [0.35, 0.50, 1.00]])
BASE_TAU = np.array([-1.6, -0.7, 0.2, 1.2])
ITEM_SHIFT = [-0.3, 0.0, 0.2, -0.1, 0.1, -0.2, 0.0, 0.3, -0.1, 0.2, -0.3, 0.0]


def make_items() -> None:
    rng = np.random.default_rng(20240614)
    roles = np.repeat(np.array(["parent", "teacher", "youthworker"]), 200)
    roles = roles[rng.permutation(roles.size)]
    n = roles.size
    eta = rng.standard_normal((n, 3)) @ np.linalg.cholesky(PHI).T
    names, cols = [], []
    j = 0
    for f, (scale, lams) in enumerate(SCALES.items()):
        for i, lam in enumerate(lams):
            ystar = lam * eta[:, f] + math.sqrt(1 - lam**2) * rng.standard_normal(n)
            tau = BASE_TAU + ITEM_SHIFT[j]
            cols.append(1 + (ystar[:, None] > tau[None, :]).sum(axis=1))
            names.append(f"{scale}{i + 1}")
            j += 1
    items = np.column_stack(cols).astype(float)
    header = ["id", "role"] + names
    complete = [[str(r + 1), roles[r]] + [str(int(v)) for v in items[r]] for r in range(n)]
    write_csv("items_synth_complete.csv", header, complete)
    mask = rng.random(items.shape) < 0.03
    miss = items.copy()
    miss[mask] = np.nan
    rows = [
        [str(r + 1), roles[r]] + ["" if np.isnan(v) else str(int(v)) for v in miss[r]]
        for r in range(n)
    ]
    write_csv("items_synth.csv", header, rows)


def main() -> None:
    make_sleep()
    make_paired_a()
    make_paired_b()
    make_long_missing()
    make_items()
    for p in sorted(OUT.glob("*.csv")):
        print(f"{p.name:28s} {p.stat().st_size:8d} bytes")


if __name__ == "__main__":
    main()
