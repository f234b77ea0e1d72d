# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python (partnerschap-eval)
#     language: python
#     name: partnerschap-eval
# ---

# %% [markdown]
# School report (parents only). Executed by `partnerschap-eval report` through papermill for
# every school; every number comes from the shared `results.json` of the run.

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
display(HTML(pres.school_header(project, results, school_key, lang, report_date)))
display(HTML(pres.school_suppressed_note(results, school_key, lang)))

# %%
display(HTML(pres.html_table(pres.school_table(results, school_key, inst, lang))))
plots.show(plots.school_pre_post_plot(results, school_key, inst, lang),
           pres.t("fig_school", lang))

# %%
display(HTML(pres.methods_html(lang)))
