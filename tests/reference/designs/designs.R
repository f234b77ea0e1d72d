# Reference values for issue 17 part 2 (designs and measurement), computed in R.
#
# Usage (from the repository root):
#   python3 tests/reference/designs/make_designs_data.py
#   Rscript tests/reference/designs/designs.R
# Writes tests/reference/designs/r_designs.json. Every recorded block keeps the R call
# that produced it under "call" (evaluated from that very string by run()).

suppressPackageStartupMessages({
  library(jsonlite); library(psych); library(effectsize); library(lavaan); library(mice)
})
args_all <- commandArgs(trailingOnly = FALSE)
script_path <- sub("^--file=", "", args_all[grep("^--file=", args_all)])
ref_dir <- if (length(script_path)) dirname(normalizePath(script_path)) else "tests/reference/designs"
data_dir <- file.path(ref_dir, "data")
run <- function(call) eval(parse(text = call), envir = parent.frame())
rd <- function(name) read.csv(file.path(data_dir, name), na.strings = "", stringsAsFactors = FALSE,
                              check.names = FALSE)
num <- function(x) unname(as.numeric(x))
out <- list(meta = list(R = R.version.string,
                        packages = lapply(c(psych = "psych", effectsize = "effectsize",
                                            lavaan = "lavaan", mice = "mice"),
                                          function(p) as.character(packageVersion(p))),
                        data_md5 = as.list(tools::md5sum(list.files(data_dir, full.names = TRUE)))))
names(out$meta$data_md5) <- basename(names(out$meta$data_md5))

# ---- 1. Wilcoxon with rounded ranks -----------------------------------------------------
ties <- rd("ties.csv"); pre <- ties$pre; post <- ties$post
w <- list()
for (call in c("wilcox.test(post, pre, paired = TRUE, exact = FALSE, correct = TRUE, digits.rank = 7)",
               "wilcox.test(post, pre, paired = TRUE, exact = FALSE, correct = TRUE)")) {
  r <- run(call)
  w[[length(w) + 1]] <- list(call = call, V = num(r$statistic), p = r$p.value)
}
d <- post - pre; d <- d[d != 0]
out$wilcoxon <- list(rounded = w[[1]], unrounded = w[[2]],
                     n_tie_groups_rounded = sum(table(signif(abs(d), 7)) > 1),
                     n_tie_groups_raw = sum(table(abs(d)) > 1))

# ---- 2. Baseline equivalence (WWC) and attrition ----------------------------------------
cond <- rd("conditions.csv")
be <- list(); att <- list()
for (s in c("rec", "twc", "sdm")) {
  ok <- cond[!is.na(cond[[s]]), ]
  pre_ok <- ok[ok$wave == "pre", ]; post_ids <- ok$respondent_id[ok$wave == "post"]
  analytic <- pre_ok[pre_ok$respondent_id %in% post_ids, ]
  x <- analytic[[s]][analytic$condition == "intervention"]
  y <- analytic[[s]][analytic$condition == "control"]
  call_d <- "cohens_d(x, y, ci = 0.95)"; cd <- run(call_d)
  call_g <- "hedges_g(x, y, ci = 0.95)"; hg <- run(call_g)
  N <- length(x) + length(y); omega <- 1 - 3 / (4 * N - 9)
  be[[s]] <- list(n_intervention = length(x), n_control = length(y),
                  cohens_d = list(call = call_d, d = cd$Cohens_d, ci = c(cd$CI_low, cd$CI_high)),
                  hedges_g = list(call = call_g, g = hg$Hedges_g, ci = c(hg$CI_low, hg$CI_high)),
                  wwc = list(omega = omega, g = cd$Cohens_d * omega,
                             ci = c(cd$CI_low, cd$CI_high) * omega,
                             note = "g = d * (1 - 3/(4N - 9)), WWC Procedures Handbook v5.0, eq. E.1.1"))
  per <- list()
  for (cc in c("intervention", "control")) {
    base_n <- sum(pre_ok$condition == cc); an <- sum(analytic$condition == cc)
    per[[cc]] <- list(baseline = base_n, analytic = an, attrition = 1 - an / base_n)
  }
  overall <- 1 - (per$intervention$analytic + per$control$analytic) /
    (per$intervention$baseline + per$control$baseline)
  att[[s]] <- list(by_condition = per, overall = overall,
                   differential = abs(per$intervention$attrition - per$control$attrition))
}
out$baseline_equivalence <- be; out$attrition <- att

# ---- 3. Longitudinal invariance (hand-written lavaan syntax) ----------------------------
long_syntax <- function(waves, level) {
  k <- 1:4; lines <- c()
  for (w in seq_along(waves)) {
    it <- paste0("x", k, "_", waves[w])
    lab <- if (level != "configural") c("1", paste0("l", 2:4)) else c("1", rep("NA", 3))
    lab[1] <- "1"
    rhs <- paste0(lab, "*", it, collapse = " + ")
    lines <- c(lines, sprintf("F%d =~ %s", w, rhs))
    if (level == "scalar") {
      lines <- c(lines, sprintf("%s ~ i%d*1", it, k))
      lines <- c(lines, sprintf("F%d ~ %s*1", w, if (w == 1) "0" else "NA"))
    }
  }
  for (i in k) {
    it <- paste0("x", i, "_", waves)
    pairs <- combn(it, 2)
    lines <- c(lines, sprintf("%s ~~ %s", pairs[1, ], pairs[2, ]))
  }
  paste(lines, collapse = "\n")
}
li <- list()
for (ds in list(list(file = "long_2w.csv", waves = c("pre", "post")),
                list(file = "long_3w.csv", waves = c("T0", "T1", "T2")))) {
  dat <- rd(ds$file)
  steps <- list()
  for (level in c("configural", "metric", "scalar")) {
    model <- long_syntax(ds$waves, level)
    call <- "cfa(model, data = dat, meanstructure = TRUE, estimator = 'ML')"
    fit <- run(call)
    fm <- fitMeasures(fit, c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "npar"))
    steps[[level]] <- list(call = call, model = model, fit_measures = as.list(fm),
                           n = lavInspect(fit, "nobs"), converged = lavInspect(fit, "converged"))
  }
  li[[sub(".csv", "", ds$file, fixed = TRUE)]] <- steps
}
# semTools' measEq.syntax, as a cross-check of the hand-written syntax (2 waves, metric)
suppressPackageStartupMessages(library(semTools))
dat <- rd("long_2w.csv")
lv <- list(F = list(pre = paste0("x", 1:4, "_pre"), post = paste0("x", 1:4, "_post")))
call_me <- "measEq.syntax(configural.model = 'F1 =~ x1_pre + x2_pre + x3_pre + x4_pre\nF2 =~ x1_post + x2_post + x3_post + x4_post', data = dat, ID.fac = 'std.lv', longFacNames = list(F = c('F1', 'F2')), long.equal = c('loadings', 'intercepts'), return.fit = TRUE, meanstructure = TRUE)"
fit_me <- run(call_me)
li$long_2w_semtools_scalar <- list(call = call_me, fit_measures = as.list(fitMeasures(
  fit_me, c("chisq", "df", "cfi", "tli", "rmsea", "srmr"))))
out$longitudinal_invariance <- li

# ---- 4. Rubin's rules with Barnard-Rubin df (mice::pool) --------------------------------
long <- rd("mi_completed.csv")
imp <- as.mids(long)
call_pool <- "pool(with(imp, lm(I(post - pre) ~ 1)))"
pl <- run(call_pool)
sm <- summary(pl, conf.int = TRUE)
pp <- pl$pooled
out$mi_pool <- list(call = call_pool, m = pp$m, estimate = pp$estimate, ubar = pp$ubar, b = pp$b,
                    t = pp$t, dfcom = pp$dfcom, df = pp$df, riv = pp$riv, lambda = pp$lambda,
                    fmi = pp$fmi, se = sm$std.error, statistic = sm$statistic, p = sm$p.value,
                    ci = c(sm[["2.5 %"]], sm[["97.5 %"]]))

# ---- 5. Per-scale keys (psych::scoreItems keys lists) -----------------------------------
items <- rd("keyed_items.csv")[, paste0("a", 1:6)]
keys <- list(total = c("a1", "a2", "a3", "-a4", "-a5", "-a6"), absent = c("a4", "a5", "a6"),
             mixed = c("a1", "-a2", "a3"))
call_keys <- "scoreItems(keys, items, min = 1, max = 5, impute = 'none', totals = FALSE)$scores"
sc <- run(call_keys)
out$keys <- list(call = call_keys, keys = keys,
                 scores = lapply(as.data.frame(sc), function(v) ifelse(is.na(v), NA, v)))

write_json(out, file.path(ref_dir, "r_designs.json"), auto_unbox = TRUE, digits = NA,
           pretty = TRUE, na = "null")
