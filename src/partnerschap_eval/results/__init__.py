"""The results layer: what a run publishes, assembled once and suppressed once (Contract 4 and 5).

It loops over the study design (scales x waves x roles x schools), calls the statistics of
:mod:`partnerschap_eval.psychometrics` and :mod:`partnerschap_eval.evaluation` once each, applies
the minimum cell size and the disclosure step of :mod:`partnerschap_eval.privacy`, and hands the
report layer tidy tables and the ``results.json`` dictionary. Nothing here formats for readers.

Modules
-------
``scales``      :func:`evaluate`: Contract 4 ``results.json`` per scale, role and wave
``schools``     :func:`school_results`: the per-school tables (parents only)
``frameworks``  :func:`framework_summary`: Epstein, Gerdes, participatieladder and praatplaat tables
``overtime``    per scale: longitudinal invariance (may means be compared?) and multiple imputation
``quality``     :func:`scale_quality`: reliability, items, CFA and invariance per scale and wave
"""

from .frameworks import FrameworkSummary
from .frameworks import summary as framework_summary
from .quality import ScaleQuality, scale_quality
from .scales import SCHEMA, evaluate, input_record, json_ready, null_with_reason, stable_number
from .schools import PER_SCHOOL_ROLE, school_results

__all__ = ["SCHEMA", "evaluate", "input_record", "json_ready", "null_with_reason", "stable_number",
           "PER_SCHOOL_ROLE", "school_results", "FrameworkSummary", "framework_summary",
           "ScaleQuality", "scale_quality"]
