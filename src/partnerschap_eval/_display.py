"""How a frozen result shows itself: ``to_frame()``, ``summary()`` and ``_repr_html_``.

Every public result of the statistics and results layers is a frozen dataclass with this mixin,
so it looks the same everywhere: a tidy one-row (or one-row-per-part) table from
:meth:`Display.to_frame`, a one-paragraph plain-text :meth:`Display.summary` (for logs and a
terminal), and in JupyterLab the summary above the table (``_repr_html_``), as statsmodels'
results do. A class overrides ``to_frame`` or ``summary`` where a better view exists; the HTML
always follows from those two, escaped. Nothing here rounds a stored value: rounding happens in
the text only.

The summary is the researcher's notation (field names, ``n = 12``, ``d_z``), in English like
statsmodels' summaries, and for a notebook or a log only: no command, page or report prints it.
Text a person reads in Dutch comes from the catalogue (``i18n.t``, ``errors.Msg``), never from
a ``summary()``.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Mean(Display):
...     n: int
...     mean: float
>>> Mean(12, 3.14159).summary()
'Mean: n = 12, mean = 3.142'
>>> Mean(12, 3.14159).to_frame().columns.tolist()
['n', 'mean']
"""

from __future__ import annotations

import dataclasses
import html
import math
import numbers
from dataclasses import dataclass

import pandas as pd

__all__ = ["Display", "Interval"]


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | bool | numbers.Number)


def _text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return "NaN" if math.isnan(value) else f"{float(value):.4g}"


class Display:
    """Mixin for frozen result dataclasses: ``to_frame()``, ``summary()``, ``_repr_html_()``."""

    __slots__ = ()

    def to_frame(self) -> pd.DataFrame:
        """The result's numbers as a one-row table: every scalar field, in declaration order."""
        row = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if _is_scalar(getattr(self, f.name))}
        return pd.DataFrame([row])

    def summary(self) -> str:
        """One paragraph of plain text: the class name and its table (4 significant digits)."""
        frame = self.to_frame()
        name = type(self).__name__
        if len(frame) == 1:
            return f"{name}: " + ", ".join(f"{k} = {_text(v)}" for k, v in frame.iloc[0].items())
        return f"{name}: {len(frame)} rows ({', '.join(map(str, frame.columns))})"

    def _repr_html_(self) -> str:
        """JupyterLab's view: the summary, then the table (every text escaped)."""
        lines = "<br>".join(html.escape(line) for line in self.summary().splitlines())
        table = self.to_frame().to_html(index=False, na_rep="", escape=True, border=0, max_rows=60)
        return (f'<div class="pe-result"><p><strong>{html.escape(type(self).__name__)}</strong>'
                f"</p><p>{lines}</p>{table}</div>")


@dataclass(frozen=True)
class Interval(Display):
    """One confidence interval: ``low``, ``high`` and its ``level`` (floats).

    A statistic that computes many intervals at once returns a tidy frame with the columns
    ``low, high, level`` instead (e.g. ``evaluation.dz_ci_frame``), never an ``Interval`` of
    arrays.

    >>> Interval(0.2, 0.9, 0.95).summary()
    'Interval: low = 0.2, high = 0.9, level = 0.95'
    >>> Interval(0.2, 0.9, 0.95).to_frame().columns.tolist()
    ['low', 'high', 'level']
    """

    low: float
    high: float
    level: float
