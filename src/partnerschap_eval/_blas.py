"""One BLAS thread for code that multiplies or factors many small matrices.

OpenBLAS threads every matrix product of a few hundred rows; for the many small products of a
CFA fit, an imputation or the disclosure audit, its threads' start-up and synchronisation cost
more than the work (a CFA fit 6-50x slower on a busy machine; the audit's SVDs 15.3 s with two
threads against 1.3 s with one). :func:`one_blas_thread` limits BLAS to one thread for a block.

threadpoolctl finds the loaded BLAS libraries by scanning the process's shared libraries,
3-4 ms per ``threadpool_limits`` call: 25 calls on the demo's ``evaluate`` took 0.09 s. The
scan is made once here (after SciPy is loaded, whose wheels carry their own OpenBLAS beside
NumPy's) and every block reuses it.
"""

from __future__ import annotations

import contextlib
import functools

__all__ = ["one_blas_thread"]


@functools.cache
def _controller():  # -> threadpoolctl.ThreadpoolController | None
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - an optional speed-up only
        return None
    import numpy  # noqa: F401  (both BLAS libraries loaded before the scan)
    import scipy.linalg  # noqa: F401

    return ThreadpoolController()


def one_blas_thread() -> contextlib.AbstractContextManager:
    """A context in which BLAS uses one thread (put back as it was on leaving).

    >>> import numpy as np
    >>> with one_blas_thread():
    ...     float(np.ones((3, 3)) @ np.ones(3) @ np.ones(3))
    9.0
    """
    controller = _controller()
    if controller is None:  # pragma: no cover
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")
