"""``make portal``: the demo study in a portal on localhost, with a school and a researcher link.

The demo exports (:func:`synth.write_demo_exports` of the demo's design, the same files
``make demo`` reads) are submitted once to a study in ``DIR`` with the public demo key by
:func:`synth.demo.build_demo_study` — the study ``make demo`` builds and reports: three waves,
43 schools with their conditions — so the pages show real status at once. Synthetic data
only: a real study uses its own key (``portal serve``).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["prepare_demo"]


def prepare_demo(study_dir: str | Path, raw_dir: str | Path) -> tuple[Path, list[str]]:
    """Create (once) the demo study in ``study_dir`` from the exports in ``raw_dir``; return the
    folder and the school ids that have submissions."""
    from ..privacy import DEMO_KEY
    from ..study import Study
    from ..synth import DEMO_DESIGN, write_demo_exports
    from ..synth.demo import build_demo_study

    specs = write_demo_exports(raw_dir, design=DEMO_DESIGN)
    study_dir = build_demo_study(study_dir, specs, DEMO_KEY, design=DEMO_DESIGN)
    with Study.open(study_dir) as study:
        schools = sorted(set(study.status()["school_id"]))
    return study_dir, schools
