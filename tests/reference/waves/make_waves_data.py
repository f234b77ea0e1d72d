"""Synthetic three-wave data for the wave model's R reference (numpy only, fixed seed).

Run from the repository root: ``python3 tests/reference/waves/make_waves_data.py``. Writes
``data/waves_3w.csv`` (see README.md).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent / "data"
WAVES = ["T0", "T1", "T2"]
#: True wave effects against T0; teachers +0.15, youth workers -0.1.
EFFECT = {"T0": 0.0, "T1": 0.15, "T2": 0.35}
ROLE_EFFECT = {"parent": 0.0, "teacher": 0.15, "youthworker": -0.1}


def waves_3w(seed: int = 20261203) -> list[dict]:
    """9 schools, 8-16 respondents each (80 % parents); school SD 0.3, respondent SD 0.5,
    residual SD 0.5; each respondent misses a wave with probability 0.2 (at least one kept),
    so the data hold dropouts, late joiners and intermittent respondents. Respondent numbers
    restart per school (``r01`` in two schools is two people)."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(9):
        school = f"S{s + 1:02d}"
        u_s = 0.3 * rng.normal()
        for r in range(int(rng.integers(8, 17))):
            u = rng.random()
            role = "parent" if u < 0.8 else ("teacher" if u < 0.92 else "youthworker")
            u_r = 0.5 * rng.normal()
            present = rng.random(len(WAVES)) >= 0.2
            if not present.any():
                present[int(rng.integers(len(WAVES)))] = True
            for wave, here in zip(WAVES, present, strict=True):
                if not here:
                    continue
                y = 3.0 + u_s + u_r + EFFECT[wave] + ROLE_EFFECT[role] + 0.5 * rng.normal()
                rows.append({"respondent_id": f"r{r + 1:02d}", "school_id": school,
                             "role": role, "wave": wave, "score": f"{y:.4f}"})
    return rows


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    rows = waves_3w()
    with open(HERE / "waves_3w.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
