"""Synthetic data for the mixed-model references (numpy only, fixed seeds).

Run from the repository root: ``python3 tests/reference/mixed/make_mixed_data.py``. Writes
``data/did_3w.csv``, ``data/did_2w_8.csv`` and ``data/crossed.csv`` (see README.md).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent / "data"


def _did(seed: int, n_schools: int, waves: list[str], per_school: tuple[int, int],
         sd: dict[str, float], did: list[float], p_missing: float) -> list[dict]:
    """Schools alternate intervention/control; school, school x wave, respondent and residual
    normal effects; true DiD per later wave; teachers +0.15; rows dropped at random."""
    rng = np.random.default_rng(seed)
    rows = []
    rid = 0
    for s in range(n_schools):
        cond = "intervention" if s % 2 == 0 else "control"
        school = f"S{s + 1:02d}"
        u_s = sd["school"] * rng.normal()
        u_sw = sd["school_wave"] * rng.normal(size=len(waves))
        for _ in range(int(rng.integers(*per_school))):
            rid += 1
            role = "teacher" if rng.random() < 0.2 else "parent"
            u_r = sd["respondent"] * rng.normal()
            for w, wave in enumerate(waves):
                if w > 0 and rng.random() < p_missing:
                    continue
                effect = (0.2 * w + (did[w - 1] if (w > 0 and cond == "intervention") else 0)
                          + (0.15 if role == "teacher" else 0.0))
                score = 3.0 + u_s + u_sw[w] + u_r + effect + sd["residual"] * rng.normal()
                rows.append({"respondent_id": f"r{rid:04d}", "school_id": school,
                             "condition": cond, "role": role, "wave": wave,
                             "score": f"{score:.4f}"})
    return rows


def _crossed(seed: int) -> list[dict]:
    """Subjects x items, crossed (about 70 % of the pairs observed), and a third crossed
    factor (rater) for each row; covariate x and a two-level group."""
    rng = np.random.default_rng(seed)
    u_subj, u_item, u_rater = rng.normal(0, 0.6, 40), rng.normal(0, 0.4, 12), rng.normal(0, 0.3, 6)
    rows = []
    for i in range(40):
        grp = "b" if i % 3 == 0 else "a"
        for j in range(12):
            if rng.random() > 0.7:
                continue
            rater = int(rng.integers(6))
            x = round(float(rng.normal()), 3)
            y = (1.0 + 0.5 * x + (0.3 if grp == "b" else 0) + u_subj[i] + u_item[j]
                 + u_rater[rater] + rng.normal(0, 0.7))
            rows.append({"subject": f"s{i + 1:02d}", "item": f"i{j + 1:02d}",
                         "rater": f"k{rater + 1}", "group": grp, "x": f"{x:.3f}",
                         "y": f"{y:.4f}"})
    return rows


def _write(name: str, rows: list[dict]) -> None:
    with open(HERE / name, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    _write("did_3w.csv", _did(1701, 10, ["T0", "T1", "T2"], (10, 19),
                              {"school": 0.3, "school_wave": 0.15, "respondent": 0.5,
                               "residual": 0.5}, [0.25, 0.4], 0.15))
    _write("did_2w_8.csv", _did(1702, 8, ["pre", "post"], (6, 12),
                                {"school": 0.25, "school_wave": 0.0, "respondent": 0.45,
                                 "residual": 0.55}, [0.0], 0.2))
    _write("crossed.csv", _crossed(1703))
