"""The report layer: it only formats what :mod:`partnerschap_eval.results` computed.

Modules
-------
``build``         papermill batch, HTML export, manifest and ``reproduce``
``project``       project configuration files (``report --config PROJECT.yaml``)
``presentation``  words and tables for readers (Dutch number and date formats)
``plots``         figures (matplotlib; imported by the report notebooks only)
"""

from .build import (
    ReportError,
    ReportOutputs,
    ReportSettings,
    build_report,
    compute_results,
    notebook_path,
    read_responses,
    reproduce,
)

__all__ = ["ReportSettings", "ReportOutputs", "build_report", "compute_results", "reproduce",
           "read_responses", "notebook_path", "ReportError"]
