"""The score resolution of a scale: the step between the scores its answers can produce.

Used to bin change scores exactly (:func:`partnerschap_eval.evaluation.change_distribution`
with ``resolution=``): a difference of two scale means is a whole multiple of this step, so it
can be compared with bin edges in whole steps instead of in binary fractions.
"""

from __future__ import annotations

import math
from fractions import Fraction

from ..instruments import Instrument

__all__ = ["score_resolution"]


def score_resolution(instrument: Instrument, scale_id: str) -> float:
    """Step between two attainable scores of a scale (and so between two change scores).

    Parameters
    ----------
    instrument
        A validated instrument (Contract 1) with integer answer codes.
    scale_id
        One of its scales.

    Returns
    -------
    float
        :math:`r = c / \\operatorname{lcm}(m_{\\min}, \\dots, k)`, where a mean of :math:`m`
        answered items moves in steps of :math:`1/m` and :math:`m` runs from the scale's
        ``min_items`` to its :math:`k` items, so every score (and every difference of two
        scores) is a whole multiple of :math:`r`; :math:`c` is :math:`k` for ``score: sum``
        (prorated: mean times :math:`k`) times :math:`(b - a)/(U - L)` for ``rescale: [a, b]``
        of the possible range :math:`[L, U]`, else 1. Reverse keys keep answers whole.

    Examples
    --------
    >>> from partnerschap_eval.instruments import load_instrument
    >>> inst = load_instrument("partnerschap")
    >>> s = inst.scale("reciprocity")
    >>> len(s.items), s.required_items
    (5, 3)
    >>> score_resolution(inst, "reciprocity") == 1 / 60   # lcm(3, 4, 5) = 60
    True
    """
    scale = instrument.scale(scale_id)
    k = len(scale.items)
    step = Fraction(1, math.lcm(*range(scale.required_items, k + 1)))
    if scale.score == "sum":
        step *= k
    if scale.rescale is not None:
        a, b = scale.rescale
        lo, hi = instrument.response_scale.min, instrument.response_scale.max
        width = (hi - lo) * (k if scale.score == "sum" else 1)
        # rescale bounds are floats in the YAML; Fraction keeps e.g. 100/45 exact until the end
        step *= Fraction(abs(b - a)).limit_denominator(10**6) / width
    return float(step)
