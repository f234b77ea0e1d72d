"""partnerschap-eval: measure parent-professional partnership and evaluate interventions.

The package follows one straight data flow (see ``DESIGN.md``)::

    exports --ingest--> responses --scoring--> scores --psychometrics/evaluation--> statistics
            --results--> results.json and tidy tables (suppressed once) --report--> HTML reports

The README's "map of the package" lists every module by layer.

Heavy libraries (statsmodels, pingouin, matplotlib) are imported lazily inside the functions
that need them, so ``import partnerschap_eval`` and the CLI start quickly.
"""

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    """``__version__``, looked up on first use: :mod:`importlib.metadata` costs every command
    (even ``--help``) about 60 ms at start-up, and only the outputs' provenance needs it."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("partnerschap-eval")
    except PackageNotFoundError:  # running from a source tree without installation
        value = "0.0.0+unknown"
    globals()["__version__"] = value
    return value
