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
# from `results.json`, computed once by the library before this notebook runs.

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
display(HTML(pres.report_header(project, inst, results, lang, report_date)))

# %%
display(HTML(pres.summary_html(results, inst, lang)))

# %%
display(HTML(pres.section("Wie deden er mee?", "Who took part?", lang,
                          "Aantal ingevulde vragenlijsten per meting en rol.",
                          "Questionnaires returned per wave and role.")))
display(HTML(pres.html_table(pres.counts_table(results, inst, lang))))

# %%
display(HTML(pres.section(
    "Wie bleven er, wie vielen uit?", "Who stayed, who dropped out?", lang,
    "Verschillen de beginscores van wie de nameting niet invulde van die van wie bleef? Een "
    "groot verschil maakt de voor-nameting minder representatief.",
    "Did the pre scores of those who skipped the post questionnaire differ from those who "
    "stayed? A large difference makes the pre/post comparison less representative.")))
display(HTML(pres.html_table(pres.attrition_table(results, inst, lang))))

# %%
display(HTML(pres.section(
    "Voor en na, per schaal en rol", "Pre and post, per scale and role", lang,
    "Gemiddelden op een schaal van 1 tot 5; verschil = na − voor. d_z en d_av zijn effectgroottes.",
    "Means on a 1-5 scale; difference = post − pre. d_z and d_av are effect sizes.")))
display(HTML(pres.html_table(pres.paired_table(results, inst, lang))))
plots.show(plots.pre_post_plot(results, inst, lang), pres.t("fig_pre_post", lang))

# %%
display(HTML(pres.section(
    "Hoeveel veranderde iedereen?", "How much did each person change?", lang,
    "Het gemiddelde verschil verbergt spreiding: sommigen gingen vooruit, anderen achteruit. "
    "Elke staaf telt de personen met ongeveer die verandering; gearceerde staven zijn te klein "
    "om te tonen.",
    "The mean difference hides spread: some people moved up, others down. Each bar counts the "
    "people with about that change; hatched bars are too small to show.")))
plots.show(plots.change_histogram(results, inst, lang), pres.t("fig_change", lang))

# %%
display(HTML(pres.section(
    "Effectgroottes met betrouwbaarheidsintervallen", "Effect sizes with confidence intervals",
    lang, "Een interval dat de nullijn niet raakt, wijst op een echte verandering.",
    "An interval that does not touch zero points to a real change.")))
plots.show(plots.forest_plot(results, inst, lang), pres.t("fig_forest", lang))

# %%
display(HTML(pres.section(
    "De kloof tussen ouders en professionals", "The gap between parents and professionals", lang,
    "Gemiddelde van ouders min dat van leerkrachten en jeugdhulpverleners samen. Bij gelijkwaardig "
    "partnerschap is de kloof klein; een positieve waarde onder 'kleiner geworden' betekent dat "
    "de kloof naar nul is gegaan.",
    "Parents' mean minus that of teachers and youth-care workers together. In an equal "
    "partnership the gap is small; a positive value under 'narrowed' means the gap moved "
    "towards zero.")))
display(HTML(pres.html_table(pres.gap_table(results, inst, lang))))

# %%
display(HTML(pres.section(
    "Voor wie veranderde het?", "For whom did it change?", lang,
    "Betrouwbare verandering per persoon (Jacobson & Truax) en het effect van de meting in een "
    "multilevelmodel met scholen en personen.",
    "Reliable change per person (Jacobson & Truax) and the wave effect in a multilevel model "
    "with schools and people.")))
display(HTML(pres.html_table(pres.change_table(results, inst, lang))))

# %%
display(HTML(pres.section(
    "Betrouwbaarheid van de schalen", "Reliability of the scales", lang,
    "Alfa en omega boven 0,70 gelden als voldoende.", "Alpha and omega above .70 count as adequate.")))
display(HTML(pres.html_table(pres.reliability_table(results, inst, lang))))

# %%
if "psychometrics" in results:
    display(HTML(pres.section(
        "Meten de schalen voor iedereen hetzelfde?", "Do the scales measure the same for everyone?",
        lang,
        "Factoranalyse (CFA) van de drie schalen, voor iedereen en per rol, en de toets of ouders, "
        "leerkrachten en jeugdhulpverleners de vragen op dezelfde manier opvatten. Vuistregels "
        "voor goede fit: CFI en TLI boven 0,95, RMSEA onder 0,06, SRMR onder 0,08 (Hu & Bentler, "
        "1999); bij kleine groepen zijn de maten onzeker.",
        "Confirmatory factor analysis (CFA) of the three scales, for everyone and per role, and "
        "the test of whether parents, teachers and youth-care workers read the questions the same "
        "way. Rules of thumb for good fit: CFI and TLI above .95, RMSEA below .06, SRMR below .08 "
        "(Hu & Bentler, 1999); in small groups the indices are uncertain.")))
    display(HTML(pres.html_table(pres.cfa_table(results, lang))))
    display(HTML(pres.invariance_conclusion(results, lang)))
    display(HTML(pres.html_table(pres.invariance_table(results, lang))))

# %%
if "psychometrics" in results:
    display(HTML(pres.section(
        "De vragen afzonderlijk", "The questions one by one", lang,
        "Per vraag: gemiddelde, spreiding, lege antwoorden, het deel in de laagste en hoogste "
        "categorie, de samenhang met de rest van de schaal, en de alfa als de vraag zou vervallen. "
        "(R) = omgekeerd gescoord.",
        "Per question: mean, spread, missing answers, the share in the lowest and highest "
        "category, the correlation with the rest of the scale, and alpha if the question were "
        "dropped. (R) = reverse-keyed.")))
    display(HTML(pres.html_table(pres.item_table(results, inst, lang))))

# %%
if "frameworks" in results:
    display(HTML(pres.section(
        "Niveau van samenwerking (naar Gerdes)", "Level of collaboration (after Gerdes)", lang,
        "Cumulatief: een niveau telt alleen als ook alle lagere niveaus gehaald zijn.",
        "Cumulative: a level counts only when all lower levels are met too.")))
    plots.show(plots.level_bars(results, "gerdes_level", inst, lang), pres.t("fig_gerdes", lang))
    display(HTML(pres.framework_notes_html(results, lang)))
    display(HTML(pres.html_table(pres.transition_matrix(results, "gerdes_level", "parent", lang))))

# %%
if "frameworks" in results:
    display(HTML(pres.section(
        "Participatieladder: verwachte en ervaren inspraak",
        "Participation ladder: expected and experienced say", lang,
        "Treden: informeren, raadplegen, adviseren, coproduceren, meebeslissen.",
        "Rungs: informed, consulted, advising, co-producing, deciding together.")))
    plots.show(plots.level_bars(results, "ladder_experienced", inst, lang),
               pres.t("fig_ladder", lang))
    display(HTML(pres.html_table(pres.ladder_table(results, lang))))
    display(HTML(pres.section("Wie ging omhoog, wie omlaag?", "Who moved up, who moved down?",
                              lang, "Tekentoets: meer stijgers dan dalers? Stuart–Maxwell: "
                              "veranderde de verdeling?", "Sign test: more up than down? "
                              "Stuart–Maxwell: did the distribution change?")))
    display(HTML(pres.html_table(pres.ordinal_tests_table(results, lang))))

# %%
if "frameworks" in results:
    display(HTML(pres.section(
        "Betrokkenheid volgens Epstein", "Involvement after Epstein", lang,
        "Hoe vaak elk type betrokkenheid voorkwam (1 = nooit, 5 = heel vaak); open = voor, "
        "gevuld = na.", "How often each type of involvement occurred (1 = never, 5 = very "
        "often); open = pre, filled = post.")))
    plots.show(plots.epstein_plot(results, inst, lang), pres.t("fig_epstein", lang))
    display(HTML(pres.html_table(pres.epstein_change_table(results, lang))))
    display(HTML(pres.section(
        "Praatplaat: samen terugkijken", "Conversation poster: looking back together", lang,
        "Gemiddelde per thema (1 = werkpunt, 3 = gaat goed).",
        "Mean per theme (1 = needs work, 3 = goes well).")))
    display(HTML(pres.html_table(pres.praatplaat_table(results, lang))))

# %%
display(HTML(pres.section(
    "Per school (ouders)", "Per school (parents)", lang,
    "Alleen ouders; scholen met te weinig ouders worden niet getoond. De stippellijn is de "
    "verandering bij alle ouders.",
    "Parents only; schools with too few parents are not shown. The dashed line is the change "
    "among all parents.")))
plots.show(plots.school_comparison_plot(results, inst, lang), pres.t("fig_schools", lang))
display(HTML(pres.schools_index_html(results, lang)))

# %%
display(HTML(pres.section(
    "Hoe gevoelig was het onderzoek?", "How sensitive was the study?", lang)))
display(HTML(pres.sensitivity_html(results, inst, lang)))

# %%
display(HTML(pres.methods_html(lang)))
if "frameworks" in results:
    display(HTML(pres.html_table(pres.rules_table(results, lang))))
display(HTML(pres.provenance_html(results, lang)))
