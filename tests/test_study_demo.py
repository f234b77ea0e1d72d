"""The demo's exports submitted to a study give the rows the plain ingest gives.

Five exports in five formats, each holding several schools (a school column) and, in two, both
professional roles: every file is a submission of each cell it holds rows for. With ``ids:
study`` (the demo's numbers are study-wide) the study's current rows are the plain ingest's, as
a set, with the same pseudonyms; with the default ``per_school`` only the pseudonyms differ.

``partnerschap-eval demo`` builds its study this way (:func:`synth.demo.build_demo_study`, the
demo's design: three waves, a control arm) and reports it as ``report --study`` does; the last
test checks that study against the simulation it was written from.
"""

from __future__ import annotations

import pandas as pd

from partnerschap_eval.ingest import ExportSpec, ingest_exports
from partnerschap_eval.privacy import DEMO_KEY
from partnerschap_eval.study import Study
from partnerschap_eval.synth import write_demo_exports

KEYS = ["respondent_id", "wave", "role", "school_id"]


def _sorted(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return frame.sort_values(by).reset_index(drop=True)


def test_the_demo_as_a_study_has_the_plain_ingests_rows(tmp_path):
    specs = write_demo_exports(tmp_path / "raw")
    plain = ingest_exports([ExportSpec(**s) for s in specs], "partnerschap", DEMO_KEY)
    rows = {}
    for ids in ("study", "per_school"):
        with Study.init(tmp_path / ids, "partnerschap", key=DEMO_KEY, ids=ids) as study:
            for s in specs:
                study.submit([s["path"]], wave=s["wave"], role=s.get("role"), key=DEMO_KEY)
            rows[ids] = study.responses()
            status = study.status()
            rejected = study.rejected()
        assert status.accepted.sum() == len(plain.responses)
        assert sorted(rejected.reason_code) == sorted(plain.rejected.reason_code)
    pd.testing.assert_frame_equal(_sorted(rows["study"], KEYS), _sorted(plain.responses, KEYS))
    answers = [c for c in plain.responses if c != "respondent_id"]
    pd.testing.assert_frame_equal(_sorted(rows["per_school"].drop(columns="respondent_id"),
                                          answers),
                                  _sorted(plain.responses.drop(columns="respondent_id"), answers))
    assert not set(rows["per_school"].respondent_id) & set(plain.responses.respondent_id)


def test_the_demo_study_holds_the_simulated_demo_design(tmp_path):
    # the study `partnerschap-eval demo` and `make portal` build: every simulated row of the
    # three waves accepted, in the cell of its school (declared id and name) x wave x role, and
    # every school's condition in study.yaml
    from partnerschap_eval.synth import DEMO_DESIGN, simulate_study
    from partnerschap_eval.synth.demo import build_demo_study

    specs = write_demo_exports(tmp_path / "raw", design=DEMO_DESIGN)
    assert len(specs) == 7
    study_dir = build_demo_study(tmp_path / "study", specs, DEMO_KEY, design=DEMO_DESIGN)
    truth = simulate_study(seed=2014, design=DEMO_DESIGN)
    with Study.open(study_dir) as study:
        cfg = study.config
        rows = study.responses()
        status = study.status()
    assert cfg.wave_ids == ["pre", "post", "follow-up"] and cfg.ids == "per_school"
    assert [w.label["nl"] for w in cfg.waves] == ["Voormeting", "Nameting", "Vervolgmeting"]
    assert {s.id: s.condition for s in cfg.schools} == truth.conditions
    expected = truth.responses.groupby(["school_id", "wave", "role"]).size()
    got = rows.groupby(["school_id", "wave", "role"]).size()
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index())
    # the answers too: per cell the same item sums
    items = [c for c in truth.responses if c not in KEYS]
    pd.testing.assert_frame_equal(
        rows.groupby(["school_id", "wave", "role"])[items].sum().sort_index(),
        truth.responses.groupby(["school_id", "wave", "role"])[items].sum().sort_index(),
        check_dtype=False)
    assert int(status.rejected.sum()) == 3  # the double submission, the empty number, the preview
    # built once: a second call leaves the study as it is
    before = (study_dir / "study.sqlite").read_bytes()
    build_demo_study(study_dir, specs, DEMO_KEY, design=DEMO_DESIGN)
    assert (study_dir / "study.sqlite").read_bytes() == before
