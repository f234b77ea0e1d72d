"""Reports: privacy in every output, escaping, languages, parameters, and a real browser."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from partnerschap_eval.report.build import (
    ReportError,
    ReportSettings,
    build_report,
    check_parameters,
)
from partnerschap_eval.synth import StudyDesign, simulate_study

HOSTILE = '<script>alert("pwned")</script> & Zn'
MIN_CELL = 12
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    """Four schools; one with a hostile name; sizes around the minimum cell size."""
    base = tmp_path_factory.mktemp("report")
    study = simulate_study(seed=11, design=StudyDesign(n_schools=4, parents_invited=30,
                                                       response_rate=0.6))
    responses = study.responses.copy()
    responses.loc[responses["school_id"] == "S02", "school_id"] = HOSTILE
    path = base / "responses.csv"
    responses.to_csv(path, index=False)
    settings = ReportSettings(project="Test <b>project</b>", instrument="partnerschap",
                              responses=path, out_dir=base / "out", min_cell=MIN_CELL)
    build_report(settings)
    return base / "out", responses


def _numbers_named_n(obj, path=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("n", "n_obs", "improved", "deteriorated", "unchanged") or path.endswith(
                    ("by_role", "n_parents")):
                if isinstance(v, int | float) and not isinstance(v, bool):
                    yield f"{path}.{k}", v
            yield from _numbers_named_n(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _numbers_named_n(v, f"{path}[{i}]")


def test_no_cell_below_minimum_in_results_json(small_report):
    out, _ = small_report
    results = json.loads((out / "results.json").read_text())
    counts = list(_numbers_named_n(results))
    assert counts, "the scan found nothing to check"
    small = [(p, v) for p, v in counts if 0 < v < MIN_CELL]
    assert not small, small
    # suppression is visible, with its reason
    text = (out / "results.json").read_text()
    assert f"suppressed: n < {MIN_CELL}" in text


def test_no_cell_below_minimum_in_html_tables(small_report):
    out, _ = small_report
    pages = [out / "index.html", *sorted((out / "schools").glob("*.html"))]
    checked = 0
    for page in pages:
        html = page.read_text()
        for table in re.findall(r"<table.*?</table>", html, flags=re.S):
            headers = [re.sub(r"<.*?>", "", h).strip() for h in re.findall(r"<th.*?</th>", table, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S):
                cells = [re.sub(r"<.*?>", "", c).strip() for c in re.findall(r"<td.*?</td>", row, re.S)]
                if len(cells) != len(headers) or not cells:
                    continue
                for head, cell in zip(headers, cells, strict=True):
                    is_count = head.startswith("n") or head in (
                        "Iedereen", "Ouders", "Leerkrachten", "Jeugdhulpverleners") or ": " in head
                    if is_count and cell not in ("–", ""):
                        checked += 1
                        assert int(cell.replace(".", "")) >= MIN_CELL, (page.name, head, cell)
    assert checked > 10


def test_professionals_never_per_school(small_report):
    out, _ = small_report
    results = json.loads((out / "results.json").read_text())
    for school in results["schools"].values():
        text = json.dumps(school)
        assert "teacher" not in text and "youthworker" not in text
    for page in (out / "schools").glob("*.html"):
        rows = re.findall(r"<tr>(.*?)</tr>", page.read_text(), flags=re.S)
        groups = {re.sub(r"<.*?>", "", c).strip()
                  for r in rows for c in re.findall(r"<td.*?</td>", r, re.S)[1:2]}
        assert groups <= {"Deze school", "Alle ouders"}, groups


def test_hostile_names_are_text(small_report):
    out, _ = small_report
    index = (out / "index.html").read_text()
    assert "<script>alert" not in index
    assert re.search(r"&lt;script&gt;alert\((&quot;|\")pwned(&quot;|\")\)&lt;/script&gt; &amp; Zn", index)
    assert "<b>project</b>" not in index and "&lt;b&gt;project&lt;/b&gt;" in index
    # file names never carry the raw name
    names = [p.name for p in (out / "schools").iterdir()]
    assert len(names) == 4 and all(re.fullmatch(r"[a-z0-9-]+\.html", n) for n in names)
    # pages carry no script at all: nothing from a CDN, nothing from the data
    for page in [out / "index.html", *(out / "schools").iterdir()]:
        assert "<script" not in page.read_text().lower(), page.name


def test_every_school_linked_and_page_exists(small_report):
    out, _ = small_report
    index = (out / "index.html").read_text()
    links = re.findall(r"href=[\"'](schools/[^\"']+\.html)[\"']", index)
    assert len(links) == 4
    assert all((out / link).is_file() for link in links)


def test_english_and_dutch_number_formats(small_report, tmp_path):
    out, responses = small_report
    dutch = (out / "index.html").read_text()
    assert "p &lt; 0,001" in dutch or re.search(r"p = 0,\d{3}", dutch)
    assert re.search(r"\d,\d{2}", dutch)
    path = tmp_path / "responses.csv"
    responses.to_csv(path, index=False)
    build_report(ReportSettings(project="E", instrument="partnerschap", responses=path,
                                out_dir=tmp_path / "en", lang="en", min_cell=MIN_CELL,
                                schools=("S01",)))
    english = (tmp_path / "en" / "index.html").read_text()
    assert "What changed?" in english and re.search(r"\d\.\d{2}", english)
    assert '<html lang="en">' in english
    # results do not depend on the language of the page
    a = json.loads((out / "results.json").read_text())["scales"]
    b = json.loads((tmp_path / "en" / "results.json").read_text())["scales"]
    assert a == b


def test_unknown_or_missing_parameters_fail_before_execution():
    with pytest.raises(ReportError, match="unknown \\['colour'\\]"):
        check_parameters("project_report", {"project": "x", "results_path": "r", "instrument": "i",
                                            "lang": "nl", "colour": "red"})
    with pytest.raises(ReportError, match="missing \\['school_key'\\]"):
        check_parameters("school_report", {"project": "x", "results_path": "r", "instrument": "i",
                                           "lang": "nl", "report_date": "2026-11-24"})


def test_in_a_real_browser(small_report):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    out, _ = small_report
    results = json.loads((out / "results.json").read_text())
    hostile_key = next(k for k, v in results["schools"].items() if v["name"] == HOSTILE)
    ARTIFACTS.mkdir(exist_ok=True)
    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        dialogs: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for target in (out / "index.html", out / "schools" / f"{hostile_key}.html"):
            page.goto(target.as_uri())
            page.wait_for_load_state("load")
            broken = page.evaluate(
                "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length")
            n_images = page.evaluate("document.images.length")
            assert n_images >= 1 and broken == 0, (target.name, n_images, broken)
            page.screenshot(path=str(ARTIFACTS / f"{target.stem[:20]}.png"), full_page=True)
        assert HOSTILE in page.inner_text("h1")
        page.goto((out / "index.html").as_uri())
        page.click(f"a[href='schools/{hostile_key}.html']")
        page.wait_for_load_state("load")
        assert page.url.endswith(f"{hostile_key}.html")
        browser.close()
    assert errors == [], errors
    assert dialogs == [], "a script from the data ran"


def test_report_from_project_config(small_report, tmp_path):
    import subprocess
    import sys

    _, responses = small_report
    responses.to_csv(tmp_path / "responses.csv", index=False)
    (tmp_path / "project.yaml").write_text(
        "project: Config test\ninstrument: partnerschap\nresponses: responses.csv\n"
        "out: out\nlanguage: en\nmin_cell: 12\nschools: [S01, S03]\ndate: 2026-06-30\n",
        encoding="utf-8")
    cli = [sys.executable, "-m", "partnerschap_eval.cli"]
    res = subprocess.run([*cli, "report", "--config", str(tmp_path / "project.yaml")],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    pages = sorted(p.name for p in (tmp_path / "out" / "schools").iterdir())
    # sequential keys: nothing of a school's name in a file name
    assert pages == ["school-001.html", "school-002.html"]
    names = {v["name"] for v in json.loads((tmp_path / "out" / "results.json").read_text())
             ["schools"].values()}
    assert names == {"S01", "S03"}
    index = (tmp_path / "out" / "index.html").read_text()
    assert "What changed?" in index and "Report date: 30 June 2026" in index
    assert "30 June 2026" in (tmp_path / "out" / "schools" / pages[0]).read_text()
    ok = subprocess.run([*cli, "reproduce", str(tmp_path / "out")], capture_output=True, text=True,
                        timeout=600)
    assert ok.returncode == 0, ok.stderr
    # a page edited after the run is detected
    page = tmp_path / "out" / "schools" / pages[0]
    page.write_text(page.read_text().replace("This school", "That school"))
    bad = subprocess.run([*cli, "reproduce", str(tmp_path / "out")], capture_output=True,
                         text=True, timeout=600)
    assert bad.returncode == 1 and pages[0] in bad.stderr and "That school" in bad.stderr
    (tmp_path / "bad.yaml").write_text("project: x\ncolour: red\n", encoding="utf-8")
    res = subprocess.run([*cli, "report", "--config", str(tmp_path / "bad.yaml")],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 2 and "colour" in res.stderr and "Traceback" not in res.stderr


#: Viewports of the layout check: the project top and a school page on a laptop, a school page
#: on a phone (375 px, an iPhone's CSS width).
VIEWS = [("project-top", "index.html", 1200, 900), ("school", "SCHOOL", 1200, 900),
         ("school-375px", "SCHOOL", 375, 812)]

_LAYOUT_JS = r"""() => {
  const width = document.documentElement.clientWidth;
  const tables = Array.from(document.querySelectorAll('table'));
  const wide = tables.filter(t => t.getBoundingClientRect().right > width + 1
                              || (t.parentElement.scrollWidth > t.parentElement.clientWidth + 1))
                     .map(t => t.querySelector('th, td') ? t.querySelector('th, td').textContent : '?');
  const wrapped = [];
  for (const td of document.querySelectorAll('td')) {
    // an interval or a p-value, by its text (not by the class the report gives it)
    if (!/^\s*(\[.*\]|p\s*[<=].*)\s*$/.test(td.textContent) || td.closest('details:not([open])')) continue;
    const r = document.createRange(); r.selectNodeContents(td);
    const lines = new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top)));
    if (lines.size > 1) wrapped.push(td.textContent);
  }
  const ids = new Set(Array.from(document.querySelectorAll('[id]')).map(e => e.id));
  const anchors = Array.from(document.querySelectorAll("a[href^='#']")).map(a => a.getAttribute('href').slice(1));
  const overview = document.querySelector('#overview');
  return {scroll: document.documentElement.scrollWidth - width, wide, wrapped,
          missing: anchors.filter(a => !ids.has(a)), n_anchors: anchors.length,
          overview_bottom: overview ? overview.getBoundingClientRect().bottom : null,
          toc_bottom: document.querySelector('.pe-toc') ?
            document.querySelector('.pe-toc').getBoundingClientRect().bottom : null,
          height: document.documentElement.scrollHeight,
          methods_link: Array.from(document.querySelectorAll('a')).some(
            a => a.getAttribute('href') === '../index.html#methods')};
}"""


def test_layout_in_a_real_browser_dutch_and_english(small_report, tmp_path):
    """Screenshots (tests/artifacts) of the project top, a school page and a school page at phone
    width, in Dutch and English: no horizontal scroll, no table wider than the page, no CI or
    p-value broken over two lines, every table-of-contents anchor present, the summary and the
    table of contents on the first screen, school pages linking to the methods."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    out_nl, responses = small_report
    path = tmp_path / "responses.csv"
    responses.to_csv(path, index=False)
    build_report(ReportSettings(project="Layout", instrument="partnerschap", responses=path,
                                out_dir=tmp_path / "en", lang="en", min_cell=MIN_CELL,
                                schools=("S01", "S03", "S04")))
    ARTIFACTS.mkdir(exist_ok=True)
    args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args, headless=True)
        for lang, out in (("nl", out_nl), ("en", tmp_path / "en")):
            results = json.loads((out / "results.json").read_text())
            # the school page with the most to show: numbers for its parents
            school = max(results["schools"], key=lambda k: sum(
                v.get("n") is not None for v in results["schools"][k]["scales"].values()))
            for name, target, width, height in VIEWS:
                page = browser.new_page(viewport={"width": width, "height": height})
                rel = f"schools/{school}.html" if target == "SCHOOL" else target
                page.goto((out / rel).as_uri())
                page.wait_for_load_state("load")
                page.screenshot(path=str(ARTIFACTS / f"{lang}-{name}.png"),
                                full_page=width < 600)
                got = page.evaluate(_LAYOUT_JS)
                where = (lang, name)
                assert got["scroll"] <= 0, (where, "horizontal scroll", got["scroll"])
                assert got["wide"] == [], (where, "tables wider than the page", got["wide"])
                assert got["wrapped"] == [], (where, "numbers broken over lines", got["wrapped"][:5])
                assert got["missing"] == [], (where, "anchors without a target", got["missing"])
                if name == "project-top":
                    # printed, the folded tables open and the navigation aids go
                    page.emulate_media(media="print")
                    folded = page.evaluate("""() => Array.from(document.querySelectorAll(
                        'details.pe-details table')).map(t => t.getBoundingClientRect().height)""")
                    assert folded and min(folded) > 0, (where, "folded tables not printed")
                    assert page.evaluate("getComputedStyle(document.querySelector("
                                         "'details.pe-details > summary')).display") == "none"
                    page.emulate_media(media="screen")
                    assert got["n_anchors"] >= 10
                    assert got["overview_bottom"] <= height, (where, "summary below the fold")
                    assert got["toc_bottom"] <= height * 1.2, (where, "contents far below the fold")
                else:
                    assert got["methods_link"], where
                page.close()
        browser.close()


@pytest.mark.slow
def test_a_seven_point_three_wave_report_says_what_its_data_say(tmp_path):
    """The whole report (notebooks included) for a 1-7 instrument and waves T0, T1, T2: the
    scale range and the wave names come from the instrument and the study, never "1 tot 5",
    "pre", "post", "voormeting" or "nameting"."""
    import yaml

    from partnerschap_eval.instruments import load_instrument

    source = Path(load_instrument("partnerschap").source)
    spec = yaml.safe_load(source.read_text(encoding="utf-8"))
    spec["id"], spec["response_scale"]["min"], spec["response_scale"]["max"] = "zeven", 1, 7
    spec["response_scale"]["labels"] = {1: {"nl": "Helemaal oneens", "en": "Strongly disagree"},
                                        7: {"nl": "Helemaal eens", "en": "Strongly agree"}}
    (tmp_path / "zeven.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    study = simulate_study(seed=5, design=StudyDesign(n_schools=3, parents_invited=40,
                                                      response_rate=0.8))
    responses = study.responses.copy()
    responses["wave"] = responses["wave"].map({"pre": "T0", "post": "T2"})
    middle = responses[responses["wave"] == "T0"].assign(wave="T1")
    responses = pd.concat([responses, middle], ignore_index=True)
    responses.to_csv(tmp_path / "responses.csv", index=False)
    build_report(ReportSettings(project="Zeven", instrument=str(tmp_path / "zeven.yaml"),
                                responses=tmp_path / "responses.csv", out_dir=tmp_path / "out",
                                waves=("T0", "T1", "T2"), min_cell=10, report_date="2026-06-30"))
    pages = [tmp_path / "out" / "index.html", *sorted((tmp_path / "out" / "schools").glob("*.html"))]
    for page in pages:
        text = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)\b.*?</\1>", " ",
                                               page.read_text(encoding="utf-8"), flags=re.S))
        assert "1 tot 7" in text, page.name
        assert not re.search(r"1 tot 5|\b(pre|post|voormeting|nameting)\b", text, re.I), (
            page.name, re.findall(r".{30}(?:1 tot 5|\bpre\b|\bpost\b|voormeting|nameting).{30}",
                                  text, re.I)[:3])
        assert "T0" in text and "T2" in text
