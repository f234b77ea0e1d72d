"""Contract 4's wave keys in one place: the schema id and the waves of a ``results.json``.

Contract 4 v2 has a top-level ``"waves"`` list (the declared order; JSON object keys carry
none) and the first/last pair the v1 keys compare in ``"compared"``. Every reader of a results
dictionary -- the disclosure audit, the report, its pages -- asks :func:`result_waves`, which
also reads the v1 object (``"waves": {"first", "last", "order"}``) that earlier versions wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CODED_KEYS", "FEW_ROLES", "KEY_COLUMNS", "NOT_CONVERGED", "SCHEMA", "TOO_FEW_TO_FIT",
           "ResultWaves", "result_waves", "waves_record"]

SCHEMA = "partnerschap-eval/results/v2"
#: Contract 2's key columns (text), in the order a responses table has them.
KEY_COLUMNS = ["respondent_id", "wave", "role", "school_id"]
#: The key columns with few distinct values (``score`` has them dictionary-encoded).
CODED_KEYS = ("wave", "role", "school_id")


@dataclass(frozen=True)
class ResultWaves:
    """The waves of a result: ``order`` (declared, first to last), and the ``first`` and
    ``last`` wave that the v1 keys compare (None when the result names none)."""

    order: tuple[str, ...]
    first: str | None
    last: str | None


def waves_record(order: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The top-level wave keys of Contract 4 v2 for the declared ``order``.

    >>> waves_record(["pre", "mid", "post"])
    {'waves': ['pre', 'mid', 'post'], 'compared': {'first': 'pre', 'last': 'post'}}
    """
    order = list(order)
    return {"waves": order, "compared": {"first": order[0], "last": order[-1]}}


def result_waves(results: dict) -> ResultWaves:
    """The declared waves and the compared pair of a results dictionary (v2 or v1).

    An order that does not run from the first to the last wave without repeats is not taken
    (the pair alone is the order then), so no reader builds on an inconsistent result.

    >>> result_waves({"waves": ["pre", "mid", "post"], "compared": {"first": "pre", "last": "post"}})
    ResultWaves(order=('pre', 'mid', 'post'), first='pre', last='post')
    >>> result_waves({"waves": {"first": "pre", "last": "post", "order": ["pre", "post"]}})
    ResultWaves(order=('pre', 'post'), first='pre', last='post')
    >>> result_waves({})
    ResultWaves(order=(), first=None, last=None)
    """
    waves = results.get("waves")
    if isinstance(waves, list | tuple):  # v2
        compared = results.get("compared")
        compared = compared if isinstance(compared, dict) else {}
        order = [w for w in waves if isinstance(w, str)]
        first = compared.get("first", order[0] if order else None)
        last = compared.get("last", order[-1] if order else None)
    elif isinstance(waves, dict):  # v1
        first, last = waves.get("first"), waves.get("last")
        order = waves.get("order")
        order = list(order) if isinstance(order, list | tuple) else []
    else:
        return ResultWaves((), None, None)
    consistent = (len(order) >= 2 and order[0] == first and order[-1] == last
                  and len(set(order)) == len(order))
    if not consistent:
        order = [w for w in (first, last) if w is not None]
    return ResultWaves(tuple(order), first, last)


#: The start of the reason of a ``longitudinal_invariance`` withheld because its sample cannot
#: be fitted (results/overtime.py writes it, the report words it from the catalogue).
TOO_FEW_TO_FIT = "too few respondents to fit"

#: The reason of a psychometrics ``cfa`` row whose fit did not converge, and of an
#: ``invariance`` row without two roles to compare (results/quality.py writes them, the report
#: words them from the catalogue).
NOT_CONVERGED = "not converged"
FEW_ROLES = "fewer than two roles with a CFA that could be fitted"
