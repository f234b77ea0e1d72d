"""partnerschap-eval: measure parent-professional partnership and evaluate interventions.

The package follows one straight data flow (see ``DESIGN.md``)::

    exports --ingest--> responses --scoring--> scores --evaluation/psychometrics--> results
            --reporting--> HTML reports

Heavy libraries (statsmodels, pingouin, matplotlib) are imported lazily inside the functions
that need them, so ``import partnerschap_eval`` and the CLI start quickly.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("partnerschap-eval")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
