"""``report --pdf FILE``: the project page as a PDF beside the report, from the report's own files
only (WeasyPrint, optional extra ``pdf``)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from partnerschap_eval import cli
from partnerschap_eval.errors import InputError
from partnerschap_eval.report.pdf import check_pdf_target, write_pdf

try:  # WeasyPrint needs Pango; without either the option says how to install them
    import weasyprint  # noqa: F401

    HAVE_WEASYPRINT = True
except (ImportError, OSError):
    HAVE_WEASYPRINT = False
needs_weasyprint = pytest.mark.skipif(not HAVE_WEASYPRINT, reason="WeasyPrint is not installed")

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")


@pytest.fixture
def report(tmp_path) -> Path:
    folder = tmp_path / "report"
    (folder / "figures").mkdir(parents=True)
    (folder / "figures" / "dot.png").write_bytes(PNG)
    (tmp_path / "secret.png").write_bytes(PNG)
    html = folder / "index.html"
    html.write_text(
        "<!doctype html><html lang='nl'><head><meta charset='utf-8'><title>WiSH</title>"
        "<style>@media print { .scherm { display: none } }</style></head><body>"
        "<h1>Projectrapport WiSH</h1><p class='scherm'>Alleen op het scherm</p>"
        "<p>Verschil 0,12 [−0,26; 0,51]</p><img src='figures/dot.png'>"
        "<img src='../secret.png'><img src='http://example.invalid/x.png'></body></html>",
        encoding="utf-8")
    return html


@needs_weasyprint
def test_the_project_page_becomes_a_pdf_beside_the_report(report, caplog):
    out = write_pdf(report, report.parent.parent / "rapport.pdf")
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]
    assert sorted(p.name for p in report.parent.iterdir()) == ["figures", "index.html"]
    # the report's own figure is drawn; a file outside it and the web are never fetched
    refused = " ".join(r.getMessage() for r in caplog.records)
    assert "secret.png" in refused and "example.invalid" in refused
    assert "dot.png" not in refused


@needs_weasyprint
def test_the_fetcher_reads_only_the_report_folder(report):
    from partnerschap_eval.report.pdf import _fetcher

    fetch = _fetcher(report.parent)
    fetch((report.parent / "figures" / "dot.png").as_uri()).close()
    fetch("data:image/png;base64,iVBORw0KGgo=").close()  # figures inline in the page
    for url in [(report.parent.parent / "secret.png").as_uri(), "http://example.invalid/x.png",
                report.parent.as_uri() + "/../secret.png"]:
        with pytest.raises(ValueError):
            fetch(url)


def test_a_pdf_inside_the_report_folder_is_refused(report):
    with pytest.raises(InputError) as caught:
        check_pdf_target(report, report.parent / "rapport.pdf")
    assert "inside the report folder" in str(caught.value)
    assert "ligt in de rapportmap" in caught.value.render("nl")


def test_without_weasyprint_the_option_says_how_to_install_it(report, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails
    with pytest.raises(InputError) as caught:
        check_pdf_target(report, report.parent.parent / "rapport.pdf")
    assert "partnerschap-eval[pdf]" in str(caught.value)
    assert "Afdrukken als PDF" in caught.value.render("nl")


def test_report_pdf_inside_the_out_folder_is_refused_before_the_build(tmp_path, monkeypatch):
    from partnerschap_eval.report import build

    def never(*args, **kwargs):
        raise AssertionError("built although --pdf was refused")

    monkeypatch.setattr(build, "build_report", never)
    res = CliRunner().invoke(cli.app, [
        "report", "--responses", str(tmp_path / "r.csv"), "--instrument", "partnerschap",
        "--project", "P", "--out", str(tmp_path / "out"), "--pdf", str(tmp_path / "out" / "r.pdf")])
    assert res.exit_code == 2, res.output
    assert "inside the report folder" in " ".join(res.output.split())


@needs_weasyprint
def test_report_pdf_writes_the_pdf_after_the_build(tmp_path, monkeypatch, report):
    from partnerschap_eval.report import build

    monkeypatch.setattr(build, "build_report", lambda settings, protect=(): SimpleNamespace(
        html=report, school_pages=[]))
    res = CliRunner().invoke(cli.app, [
        "report", "--responses", str(tmp_path / "r.csv"), "--instrument", "partnerschap",
        "--project", "P", "--out", str(report.parent), "--pdf", str(tmp_path / "r.pdf")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF-")
