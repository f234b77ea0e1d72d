# R references for partnerschap_eval.evaluation.waves.wave_mixed_model (lme4 + lmerTest).
# Run from the repository root: Rscript tests/reference/waves/waves_mixed.R
# Writes tests/reference/waves/r_waves.json. Every block keeps its R call under `call`.
suppressPackageStartupMessages({library(lmerTest); library(jsonlite); library(tools)})

here <- "tests/reference/waves"
d <- read.csv(file.path(here, "data", "waves_3w.csv"), stringsAsFactors = FALSE)
d$wave <- factor(d$wave, levels = c("T0", "T1", "T2"))   # declared order, T0 the reference
d$role <- factor(d$role, levels = c("parent", "teacher", "youthworker"))
# Tight optimiser settings: the Satterthwaite df depend on theta, so the reference theta must be
# the optimum to many digits (the defaults stop about 1e-6 away).
ctrl <- lmerControl(optimizer = "nloptwrap",
                    optCtrl = list(ftol_abs = 1e-15, ftol_rel = 1e-15, xtol_abs = 1e-12,
                                   xtol_rel = 1e-12, maxeval = 1e5))
ctrl_txt <- "lmerControl(optimizer = 'nloptwrap', optCtrl = list(ftol_abs = 1e-15, ftol_rel = 1e-15, xtol_abs = 1e-12, xtol_rel = 1e-12, maxeval = 1e5))"

out <- list(meta = list(
  R = R.version.string, lme4 = as.character(packageVersion("lme4")),
  lmerTest = as.character(packageVersion("lmerTest")),
  numDeriv = as.character(packageVersion("numDeriv")),
  data_md5 = as.list(md5sum(file.path(here, "data", "waves_3w.csv"))),
  control = ctrl_txt,
  rows = nrow(d),
  respondents = nrow(unique(d[, c("school_id", "respondent_id")])),
  schools = length(unique(d$school_id))))
names(out$meta$data_md5) <- basename(names(out$meta$data_md5))

models <- list(
  wave_role = "score ~ wave + role + (1 | school_id) + (1 | school_id:respondent_id)",
  wave_only = "score ~ wave + (1 | school_id) + (1 | school_id:respondent_id)")

for (m in names(models)) {
  f <- models[[m]]
  fit <- lmer(as.formula(f), data = d, REML = TRUE, control = ctrl)
  co <- summary(fit, ddf = "Satterthwaite")$coefficients
  vc <- as.data.frame(VarCorr(fit))
  blk <- list(call = sprintf("lmerTest::lmer(%s, data = d, REML = TRUE, control = ctrl)", f),
              terms = rownames(co), estimate = unname(co[, "Estimate"]),
              se = unname(co[, "Std. Error"]), df = unname(co[, "df"]),
              t = unname(co[, "t value"]), p = unname(co[, "Pr(>|t|)"]),
              theta = unname(getME(fit, "theta")), sigma = sigma(fit),
              varcomp = as.list(setNames(vc$vcov, vc$grp)), criterion = REMLcrit(fit),
              singular = isSingular(fit), nobs = nobs(fit), ngrps = as.list(ngrps(fit)))
  # T2 - T1 (a consecutive contrast): the difference of the two wave coefficients
  L <- setNames(rep(0, length(fixef(fit))), names(fixef(fit)))
  L["waveT2"] <- 1
  L["waveT1"] <- -1
  ct <- contest(fit, L, joint = FALSE)
  blk$contrast_T2_minus_T1 <- list(
    call = "contest(fit, L, joint = FALSE), L = waveT2 - waveT1",
    estimate = ct$Estimate, se = ct[["Std. Error"]], df = ct$df, t = ct[["t value"]],
    p = ct[["Pr(>|t|)"]], ci_low = ct$lower, ci_high = ct$upper)
  ci <- list()
  for (term in c("waveT1", "waveT2")) {
    Lw <- as.numeric(names(fixef(fit)) == term)
    cw <- contest(fit, Lw, joint = FALSE)
    ci[[term]] <- c(cw$lower, cw$upper)
  }
  blk$ci95 <- ci
  blk$ci95_call <- "contest(fit, L, joint = FALSE, level = 0.95) for L = the wave coefficient"
  out[[m]] <- blk
}

write_json(out, file.path(here, "r_waves.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
