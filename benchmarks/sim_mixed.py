"""Simulation: type-I error and CI coverage of the difference in differences (DiD).

Studies with a true DiD of zero, schools that differ in their change (a school x wave
variance), three waves and dropout, are fitted with
:func:`partnerschap_eval.evaluation.mixed_design.did_mixed_model`. For the last wave's DiD we
count how often

* the Satterthwaite t test of the full model rejects at 5 %, and how often its 95 % CI covers 0;
* a z test (the same estimate and SE, normal reference) rejects;
* the model without the school x wave intercept (Satterthwaite as well) rejects.

Measured (1000 studies each, seeds 1720 and 1708; 15 % dropout, school SD 0.3, school x wave
SD 0.2, respondent SD 0.5, residual SD 0.5, 10-20 respondents per school, 3 waves):

=========== ================ =============== ======== ======================= ============
schools     Satterthwaite    CI coverage     z test   without school x wave   median df
=========== ================ =============== ======== ======================= ============
20          4.5 %            95.5 %          5.7 %    25.1 % (df ~526)        35.0
8           4.5 %            95.5 %          6.7 %    26.1 % (df ~207)        11.7
=========== ================ =============== ======== ======================= ============

(binomial SE of a 5 % rate over 1000 studies: 0.7 points; 0.3 % and 7.9 % of the fits put
the school x wave variance on the boundary; every fit converged.)

Run: ``.venv/bin/python -m benchmarks.sim_mixed [reps]`` (default 1000 per number of schools;
about 0.1 s of CPU per study with one BLAS thread). ``tests/test_mixed_simulation.py`` runs fewer studies (slow marker).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

WAVES = ["pre", "post", "follow-up"]
SD = {"school": 0.3, "school_wave": 0.2, "respondent": 0.5, "residual": 0.5}
PER_SCHOOL = (10, 21)   # respondents per school: uniform integer in [10, 20]
DROPOUT = 0.15          # each later row missing with this probability


def study(n_schools: int, rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, str]]:
    """One study: half the schools intervention, true DiD 0, time trend 0.1 per wave."""
    sizes = rng.integers(*PER_SCHOOL, n_schools)
    school = np.repeat(np.arange(n_schools), sizes)
    n_resp = school.size
    w = len(WAVES)
    resp = np.repeat(np.arange(n_resp), w)
    wave = np.tile(np.arange(w), n_resp)
    s = school[resp]
    y = (rng.normal(0, SD["school"], n_schools)[s]
         + rng.normal(0, SD["school_wave"], (n_schools, w))[s, wave]
         + rng.normal(0, SD["respondent"], n_resp)[resp] + 0.1 * wave
         + rng.normal(0, SD["residual"], resp.size))
    keep = (wave == 0) | (rng.random(resp.size) > DROPOUT)
    scores = pd.DataFrame({"respondent_id": resp[keep], "school_id": s[keep].astype(str),
                           "wave": np.array(WAVES)[wave[keep]], "x": y[keep]})
    cond = {str(i): "intervention" if i % 2 == 0 else "control" for i in range(n_schools)}
    return scores, cond


def _no_school_wave(scores: pd.DataFrame, cond: dict[str, str]):
    """The same fixed effects without the school x wave intercept."""
    from partnerschap_eval.evaluation.mixed_design import fit_lmm, interaction

    treated = scores["school_id"].map(cond).eq("intervention").to_numpy(float)
    x = {"(Intercept)": np.ones(len(scores))}
    for wv in WAVES[1:]:
        x[f"wave{wv}"] = scores["wave"].eq(wv).to_numpy(float)
    x["condition"] = treated
    for wv in WAVES[1:]:
        x[f"wave{wv}:condition"] = x[f"wave{wv}"] * treated
    school = scores["school_id"].to_numpy()
    fit = fit_lmm(scores["x"].to_numpy(), pd.DataFrame(x),
                  {"school": school, "respondent": interaction(school, scores["respondent_id"])})
    i = fit.terms.index(f"wave{WAVES[-1]}:condition")
    return fit.p[i], fit.df[i]


def _one_blas_thread():
    """Small matrices: BLAS threads only spin and double the CPU time of a study."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with the locked environment
        return contextlib.nullcontext()
    return threadpool_limits(1)


def _one(n_schools: int, rng: np.random.Generator) -> dict:
    from partnerschap_eval.evaluation.mixed_design import did_mixed_model

    scores, cond = study(n_schools, rng)
    did = did_mixed_model(scores, "x", WAVES, cond)
    r = did.to_frame().iloc[-1]
    p_no_sw, df_no_sw = _no_school_wave(scores, cond)
    return {"p": r["p"], "covers": r["ci_low"] <= 0 <= r["ci_high"], "df": r["df"],
            "p_z": 2 * stats.norm.sf(abs(r["estimate"] / r["se"])), "p_no_sw": p_no_sw,
            "df_no_sw": df_no_sw, "converged": did.converged, "singular": did.singular}


def simulate(n_schools: int, reps: int, seed: int) -> dict:
    """Rejection rates (alpha 0.05) and coverage over ``reps`` studies of the last-wave DiD."""
    rng = np.random.default_rng(seed)
    rows = []
    with _one_blas_thread():
        for _ in range(reps):
            rows.append(_one(n_schools, rng))
    res = pd.DataFrame(rows)
    return {"n_schools": n_schools, "reps": reps, "seed": seed,
            "reject_satterthwaite": float((res["p"] < 0.05).mean()),
            "coverage_satterthwaite": float(res["covers"].mean()),
            "reject_z": float((res["p_z"] < 0.05).mean()),
            "reject_no_school_wave": float((res["p_no_sw"] < 0.05).mean()),
            "median_df": float(res["df"].median()),
            "median_df_no_school_wave": float(res["df_no_sw"].median()),
            "singular": float(res["singular"].mean()),
            "not_converged": int((~res["converged"]).sum())}


def main(argv: list[str]) -> int:
    reps = int(argv[0]) if argv else 1000
    out = []
    for n_schools, seed in ((20, 1720), (8, 1708)):
        start = time.perf_counter()
        r = simulate(n_schools, reps, seed)
        r["seconds"] = round(time.perf_counter() - start, 1)
        out.append(r)
        print(f"{n_schools} schools, {reps} studies ({r['seconds']} s): Satterthwaite rejects "
              f"{r['reject_satterthwaite']:.1%}, CI covers {r['coverage_satterthwaite']:.1%} "
              f"(median df {r['median_df']:.1f}); z rejects {r['reject_z']:.1%}; without "
              f"school x wave {r['reject_no_school_wave']:.1%} (median df "
              f"{r['median_df_no_school_wave']:.0f}); singular fits {r['singular']:.1%}, "
              f"not converged {r['not_converged']}", flush=True)
    target = Path(__file__).resolve().parent / "results"
    target.mkdir(exist_ok=True)
    (target / "sim_mixed.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
