"""Parameter checks, in one place: every public function checks its options here, at the boundary.

The statistics and the results layer call these before computing anything, so a bad option
fails at once with a one-paragraph :class:`~partnerschap_eval.errors.InputError` that names the
parameter, instead of a NumPy warning or a silently meaningless number deep inside. Inside the
package, validated values are trusted. ``tests/test_public_parameters.py`` feeds invalid values
of every parameter checked here to every public function that takes it.

>>> check_ci_level(0.9)
0.9
>>> check_min_cell(10)
10
>>> check_n_boot(0), check_nan_policy("pairwise")
(0, 'pairwise')
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping

from .errors import InputError, MinCellError, Msg

__all__ = ["CONDITIONS", "MAX_MIN_CELL", "NAN_POLICIES", "check_ci_level", "check_conditions",
           "check_min_cell", "check_n_boot",
           "check_nan_policy", "check_probability", "check_number"]

#: The largest minimum cell size accepted: a bigger one would suppress every number of any
#: realistic study (a class has ~25 parents, a municipality a few thousand) and is a typo.
MAX_MIN_CELL = 1000
NAN_POLICIES = ("listwise", "pairwise")
#: The conditions a school can be in (a study's ``schools[].condition``, a project's
#: ``conditions:``): the arm that gets the intervention and the three kinds of reference arm.
CONDITIONS = ("intervention", "control", "comparison", "waitlist")


def _shown(value: object) -> str:
    # a parameter value is the caller's, not a respondent's; still keep the message short
    return str(value if isinstance(value, numbers.Real) else repr(value))[:20]


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_whole(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_probability(value: object, name: str) -> float:
    """A number strictly between 0 and 1 (a level, a power, an alpha), as a float."""
    if _is_real(value) and 0 < float(value) < 1:
        return float(value)
    raise InputError(Msg("errors.validate.probability", name=name, value=_shown(value)))


def check_number(value: object, name: str, many: str = "") -> float:
    """One real number (a Python or NumPy scalar, not an array), as a float.

    ``many`` names the function that takes arrays, for the message.

    >>> check_number(3, "t")
    3.0
    """
    if _is_real(value):
        return float(value)
    hint = Msg("errors.validate.number_many", many=many) if many else ""
    raise InputError(Msg("errors.validate.number", name=name, value=_shown(value), hint=hint))


def check_ci_level(value: object, name: str = "ci_level") -> float:
    """The confidence level of an interval: a number strictly between 0 and 1."""
    return check_probability(value, name)


def check_nan_policy(value: object) -> str:
    """``"listwise"`` or ``"pairwise"``."""
    if isinstance(value, str) and value in NAN_POLICIES:
        return value
    raise InputError(Msg("errors.validate.nan_policy", value=_shown(value)))


def check_n_boot(value: object, name: str = "n_boot") -> int:
    """A number of bootstrap resamples: a whole number, 0 (no bootstrap) or more."""
    if _is_whole(value) and int(value) >= 0:
        return int(value)
    raise InputError(Msg("errors.validate.n_boot", name=name, value=_shown(value)))


def check_min_cell(value: object, where: str = "min_cell") -> int:
    """The minimum cell size as an int in 1..:data:`MAX_MIN_CELL`, or a one-paragraph error.

    Every entry point that takes a minimum cell size (CLI options, project and study files,
    :func:`~partnerschap_eval.results.evaluate`, report settings, per-school and framework
    tables) calls this, so a value of 0 or below -- which would publish every group of one --
    or an absurd one is refused before anything is computed. ``where`` names the option or
    file key in the message.

    >>> check_min_cell(1000)
    1000
    """
    if _is_whole(value) and 1 <= int(value) <= MAX_MIN_CELL:
        return int(value)
    shown = value if isinstance(value, int | float) and not isinstance(value, bool) else repr(value)
    shown = str(shown)[:20]
    raise MinCellError(Msg("errors.min_cell", where=where, shown=shown, max=MAX_MIN_CELL))


def check_conditions(conditions: object, schools: Iterable[str], *, what: str = "conditions"
                     ) -> dict[str, str]:
    """School -> condition, each one of :data:`CONDITIONS`, for the schools of the data only.

    ``conditions`` and ``start_waves`` are published in ``results.json`` (``design``), so they
    pass here once: a value outside the vocabulary is refused (the message counts the schools
    and quotes none of the values, which may be anything a file held), and schools that are
    not in ``schools`` -- the school ids of the data, which the output firewall has already
    screened -- are left out rather than published unchecked. ``what`` names the parameter.
    (``start_waves``, whose values are the run's waves, goes through
    :func:`check_school_mapping` the same way.)

    >>> check_conditions({"S02": "control", "S01": "intervention", "S09": "control"},
    ...                  ["S01", "S02"])
    {'S01': 'intervention', 'S02': 'control'}
    """
    return check_school_mapping(conditions, schools, CONDITIONS, what=what)


def check_school_mapping(mapping: object, schools: Iterable[str], allowed: Iterable[str], *,
                         what: str) -> dict[str, str]:
    """A mapping school -> one of ``allowed`` (see :func:`check_conditions`), sorted by school,
    restricted to ``schools``."""
    allowed = tuple(allowed)
    if not isinstance(mapping, Mapping):
        raise InputError(Msg("errors.validate.school_mapping", name=what,
                             allowed=", ".join(allowed), bad=1))
    bad = sum(1 for v in mapping.values() if not (isinstance(v, str) and v in allowed))
    if bad:
        raise InputError(Msg("errors.validate.school_mapping", name=what,
                             allowed=", ".join(allowed), bad=bad))
    present = {str(s) for s in schools}
    return {str(k): mapping[k] for k in sorted(mapping, key=str) if str(k) in present}
