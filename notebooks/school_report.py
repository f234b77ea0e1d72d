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
# School report for a school director and the parents' council (parents only). Executed by
# `partnerschap-eval report` through papermill for every school; every number comes from the
# shared `results.json` of the run, every word from the message catalogue (`report.po`).

# %% tags=["parameters"]
project = "demo"
results_path = "results.json"
instrument = "partnerschap"
lang = "nl"
report_date = "2026-01-01"
school_key = ""

# %%
import json

from IPython.display import HTML, display

from partnerschap_eval.report import plots
from partnerschap_eval.report import presentation as pres
from partnerschap_eval.instruments import load_instrument

inst = load_instrument(instrument)
with open(results_path, encoding="utf-8") as fh:
    results = json.load(fh)
params = pres.text_params(results, inst, lang)
display(HTML(pres.school_header(project, results, school_key, lang, report_date)))

# %% [markdown]
# Three plain sentences first (what changed, how sure, compared with all parents) and the
# response per wave.

# %%
display(HTML(pres.school_summary_html(results, school_key, inst, lang)))

# %%
display(HTML(pres.section("school_table", lang, **params)))
display(HTML(pres.html_table(pres.school_table(results, school_key, inst, lang))))
plots.show(plots.school_pre_post_plot(results, school_key, inst, lang),
           pres.t("report.fig.school", lang, **params))

# %% [markdown]
# With three or more waves: every later wave against the first (this school's parents beside
# all parents).

# %%
waves_here = pres.school_waves_table(results, school_key, inst, lang)
if not waves_here.empty:
    display(HTML(pres.section("school_waves", lang, **params)))
    display(HTML(pres.html_table(waves_here)))

# %% [markdown]
# Conversation starters: the praatplaat themes that relate to the scale where this school's
# parents score lowest (`relates_to` in instruments/praatplaat.yaml).

# %%
display(HTML(pres.school_starters_html(results, school_key, inst, lang)))

# %%
display(HTML(pres.school_method_html(results, lang)))
