"""``report --pdf FILE``: the project page as one PDF, through WeasyPrint (optional extra ``pdf``).

The page is laid out with its print stylesheet (``@media print``), as "Print to PDF" in a browser
would. WeasyPrint reads only the report's own files: a URL outside the report folder (the web, a
file elsewhere on the disk) is refused, so a PDF never depends on, or leaks to, anything else.
The PDF is written beside the report, never into it: the report folder is sealed by its
manifest, and a file added to it counts as drift for ``reproduce``.

WeasyPrint needs Pango (Debian: ``libpango-1.0-0``, present wherever Chromium is); without the
extra the option says how to install it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from .._io import atomic_path
from .._outputs import check_output
from ..errors import InputError, Msg

__all__ = ["check_pdf_target", "write_pdf"]


def _fetcher(folder: Path):
    """WeasyPrint's URL fetcher limited to the files of ``folder`` and inline ``data:`` URLs."""
    from weasyprint.urls import URLFetcher

    root = folder.resolve()

    class ReportFiles(URLFetcher):
        def fetch(self, url, headers=None):
            parsed = urlparse(url)
            if parsed.scheme == "data":  # the report's own figures, inline in the page
                return super().fetch(url, headers)
            path = Path(unquote(parsed.path)).resolve() if parsed.scheme == "file" else None
            if path is None or (path != root and root not in path.parents):
                raise ValueError(f"not a file of the report: {url[:80]}")  # logged, not fetched
            return super().fetch(url, headers)

    return ReportFiles(allowed_protocols=("file", "data"))


def check_pdf_target(html: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """``out`` resolved, when a PDF of ``html`` can be written there and WeasyPrint is installed.

    Checked before a report is built, so that ``report --pdf`` refuses at once.
    """
    html, out = Path(html), Path(out)
    folder = html.parent.resolve()
    target = check_output(out, [html], folder=False, what=Msg("errors.what.pdf_file"))
    if target == folder or folder in target.parents:
        raise InputError(Msg("errors.pdf.inside", out=out, folder=html.parent))
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):  # OSError: WeasyPrint found no Pango library
        raise InputError(Msg("errors.pdf.extra")) from None
    return target


def write_pdf(html: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Write the report page ``html`` as a PDF to ``out`` (beside the report folder) and return it.

    Raises
    ------
    InputError
        When WeasyPrint is not installed, or ``out`` lies inside the report folder.
    OutputError
        When ``out`` cannot be written there (a folder, an input, ...).
    """
    html = Path(html)
    target, folder = check_pdf_target(html, out), html.parent.resolve()
    import weasyprint
    # WeasyPrint warns of every CSS property it does not lay out (Jupyter's stylesheet has
    # hundreds); only its errors (a resource refused or unreadable) are worth a line
    log = logging.getLogger("weasyprint")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        document = weasyprint.HTML(filename=str(html), url_fetcher=_fetcher(folder))
        with atomic_path(target) as tmp:
            document.write_pdf(str(tmp))
    finally:
        log.setLevel(level)
    return target
