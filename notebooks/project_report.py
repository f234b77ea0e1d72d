# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python (partnerschap-eval)
#     language: python
#     name: partnerschap-eval
# ---

# %% [markdown]
# Project report. Executed by `partnerschap-eval report` through papermill; every number comes
# from `results.json`, computed once by the library before this notebook runs, and every word
# from the message catalogue (`report.po`). Sections appear only when the results have them;
# each has an anchor (`#methods`, `#gap`, ...) listed in the table of contents.

# %% tags=["parameters"]
project = "demo"
results_path = "results.json"
instrument = "partnerschap"
lang = "nl"
report_date = "2026-01-01"

# %%
import json

from IPython.display import HTML, display

from partnerschap_eval.report import plots
from partnerschap_eval.report import presentation as pres
from partnerschap_eval.instruments import load_instrument

inst = load_instrument(instrument)
with open(results_path, encoding="utf-8") as fh:
    results = json.load(fh)
shown = pres.project_sections(results)
params = pres.text_params(results, inst, lang)


def section(key):
    display(HTML(pres.section(key, lang, **params)))


def table(frame, folded=False):
    html = pres.html_table(frame)
    display(HTML(pres.details(html, lang) if folded else html))


display(HTML(pres.report_header(project, inst, results, lang, report_date)))

# %% [markdown]
# Summary of one screen (what was measured, the headline changes, the response) and the
# table of contents.

# %%
display(HTML(pres.overview_html(results, inst, lang)))
display(HTML(pres.toc_html(shown, lang, **params)))

# %%
section("counts")
table(pres.counts_table(results, inst, lang))

# %%
if "attrition" in shown:
    section("attrition")
    table(pres.attrition_table(results, inst, lang))

# %%
section("paired")
table(pres.paired_table(results, inst, lang))
plots.show(plots.pre_post_plot(results, inst, lang), pres.t("report.fig.pre_post", lang, **params))

# %%
if "waves" in shown:
    section("waves")
    table(pres.waves_table(results, inst, lang))
    display(HTML(pres.html_table(pres.wave_contrasts_table(results, inst, lang),
                                 pres.t("report.waves.contrasts_caption", lang))))

# %%
if "change_distribution" in shown:
    section("change_distribution")
    plots.show(plots.change_histogram(results, inst, lang),
               pres.t("report.fig.change", lang, **params))

# %%
section("forest")
plots.show(plots.forest_plot(results, inst, lang), pres.t("report.fig.forest", lang, **params))

# %%
if "gap" in shown:
    section("gap")
    table(pres.gap_table(results, inst, lang))

# %%
if "change" in shown:
    section("change")
    table(pres.change_table(results, inst, lang))
    if pres.has_imputation(results):
        display(HTML(pres.imputation_html(results, lang)))
        table(pres.imputation_table(results, inst, lang))

# %%
if "did" in shown:
    section("did")
    display(HTML(pres.did_html(results, inst, lang)))
    table(pres.did_table(results, inst, lang))
    arms = pres.arm_paired_table(results, inst, lang)
    if not arms.empty:
        display(HTML(pres.did_part("arms", lang)))
        table(arms)
    display(HTML(pres.did_part("baseline", lang)))
    table(pres.baseline_table(results, inst, lang))
    display(HTML(pres.did_part("attrition", lang)))
    table(pres.arm_attrition_table(results, inst, lang))

# %%
section("reliability")
table(pres.reliability_table(results, inst, lang))

# %%
if "psychometrics" in shown:
    section("psychometrics")
    display(HTML(pres.invariance_conclusion(results, lang)))
    table(pres.cfa_table(results, lang), folded=True)
    table(pres.invariance_table(results, lang), folded=True)

# %%
if "over_time" in shown:
    section("over_time")
    display(HTML(pres.over_time_html(results, inst, lang)))
    table(pres.over_time_table(results, inst, lang), folded=True)

# %%
if "items" in shown:
    section("items")
    table(pres.item_table(results, inst, lang), folded=True)

# %%
if "gerdes" in shown:
    section("gerdes")
    plots.show(plots.level_bars(results, "gerdes_level", inst, lang),
               pres.t("report.fig.gerdes", lang, **params))
    display(HTML(pres.framework_notes_html(results, lang)))
    table(pres.transition_matrix(results, "gerdes_level", "parent", lang), folded=True)

# %%
if "ladder" in shown:
    section("ladder")
    plots.show(plots.level_bars(results, "ladder_experienced", inst, lang),
               pres.t("report.fig.ladder", lang, **params))
    table(pres.ladder_table(results, lang))

# %%
if "ordinal" in shown:
    section("ordinal")
    table(pres.ordinal_tests_table(results, lang), folded=True)

# %%
if "epstein" in shown:
    section("epstein")
    plots.show(plots.epstein_plot(results, inst, lang), pres.t("report.fig.epstein", lang, **params))
    table(pres.epstein_change_table(results, lang), folded=True)

# %%
if "praatplaat" in shown:
    section("praatplaat")
    table(pres.praatplaat_table(results, lang))

# %%
if "schools" in shown:
    section("schools")
    plots.show(plots.school_comparison_plot(results, inst, lang),
               pres.t("report.fig.schools", lang, **params))
    display(HTML(pres.schools_index_html(results, lang)))

# %%
if "sensitivity" in shown:
    section("sensitivity")
    display(HTML(pres.sensitivity_html(results, inst, lang)))

# %% [markdown]
# Methods (anchor `#methods`, linked from every school page), the classification rules as
# sentences, and the provenance of every number.

# %%
display(HTML(pres.methods_html(lang)))
display(HTML(pres.rules_html(results, lang)))
display(HTML(pres.provenance_html(results, lang)))
