"""``make portal``: the demo study in a portal on localhost, with a school and a researcher link.

The demo exports (:func:`synth.write_demo_exports`, the same files ``make demo`` reads) are
submitted once to a study in ``DIR`` with the public demo key — as a researcher would with
``partnerschap-eval submit`` — so the pages show real status at once. Synthetic data only: a
real study uses its own key (``portal serve``).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["prepare_demo"]


def prepare_demo(study_dir: str | Path, raw_dir: str | Path) -> tuple[Path, list[str]]:
    """Create (once) the demo study in ``study_dir`` from the exports in ``raw_dir``; return the
    folder and the school ids that have submissions."""
    from ..privacy import DEMO_KEY
    from ..study import Study
    from ..synth import write_demo_exports

    study_dir = Path(study_dir)
    specs = write_demo_exports(raw_dir)
    if not (study_dir / "study.yaml").exists():
        study = Study.init(study_dir, "partnerschap", waves=["pre", "post"], key=DEMO_KEY,
                           name="WiSH demo")
        with study:
            for spec in specs:
                study.submit([spec["path"]], wave=spec.get("wave"), role=spec.get("role"),
                             key=DEMO_KEY)
    with Study.open(study_dir) as study:
        schools = sorted(set(study.status()["school_id"]))
    return study_dir, schools
