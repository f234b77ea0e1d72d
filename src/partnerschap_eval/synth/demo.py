"""The demo study: the demo's exports submitted to a study (``partnerschap-eval demo``, ``make
portal``).

One function builds it for both, so the demo report and the demo portal show the same study:
``study.yaml`` with the design's waves in time order (Dutch and English labels), the 43 schools
by id and name with their condition (intervention or control), ``ids: per_school``; then every
export of :func:`~partnerschap_eval.synth.write_demo_exports` is submitted through
:meth:`~partnerschap_eval.study.Study.submit`, as a researcher submits the files a school sent
(each export holds several schools; the study files its rows per school x wave x role).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEMO_STUDY_NAME", "demo_study_schools", "build_demo_study"]

#: The study's name (``study:`` in study.yaml), the project name of the demo report.
DEMO_STUDY_NAME = "WiSH demo"


def demo_study_schools(seed: int = 2014, design=None) -> list[dict]:
    """The schools of the demo study for ``study.yaml``: id, name and (with control schools in
    ``design``) condition.

    >>> from partnerschap_eval.synth import DEMO_DESIGN
    >>> schools = demo_study_schools(design=DEMO_DESIGN)
    >>> len(schools), schools[1]["id"], schools[1]["condition"]
    (43, 'S02', 'control')
    """
    from . import DEMO_DESIGN, simulate_study

    study = simulate_study(seed=seed, design=design or DEMO_DESIGN)
    conditions = study.conditions or {}
    return [{"id": sid, "name": name, **({"condition": conditions[sid]} if conditions else {})}
            for sid, name in zip(study.schools["school_id"], study.schools["school_name"],
                                 strict=True)]


def build_demo_study(study_dir: str | Path, specs: list[dict], key: bytes, *, seed: int = 2014,
                     design=None) -> Path:
    """Create the demo study in ``study_dir`` (once) and submit the exports of ``specs``
    (:func:`~partnerschap_eval.synth.write_demo_exports` of the same ``seed`` and ``design``,
    default :data:`~partnerschap_eval.synth.DEMO_DESIGN`) with ``key``; return the folder.

    A study that exists already is left as it is (submitting the same files again would change
    nothing anyway).
    """
    from ..study import Study
    from . import DEMO_DESIGN

    design = design or DEMO_DESIGN
    study_dir = Path(study_dir)
    if (study_dir / "study.yaml").exists():
        return study_dir
    with Study.init(study_dir, "partnerschap", waves=list(design.waves), key=key,
                    name=DEMO_STUDY_NAME, schools=demo_study_schools(seed, design),
                    ids="per_school") as study:
        for spec in specs:
            study.submit([spec["path"]], wave=spec.get("wave"), role=spec.get("role"), key=key)
    return study_dir
