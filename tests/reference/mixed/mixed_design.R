# R references for partnerschap_eval.evaluation.mixed_design (lme4 + lmerTest).
# Run from the repository root: Rscript tests/reference/mixed/mixed_design.R
# Writes tests/reference/mixed/r_mixed.json. Every block keeps its R call under `call`.
suppressPackageStartupMessages({library(lmerTest); library(jsonlite); library(tools)})

here <- "tests/reference/mixed"
read <- function(name) read.csv(file.path(here, "data", name), stringsAsFactors = FALSE)
# Tight optimiser settings: the Satterthwaite df depend on theta, so the reference theta must be
# the optimum to many digits (the defaults stop about 1e-6 away).
ctrl <- lmerControl(optimizer = "nloptwrap",
                    optCtrl = list(ftol_abs = 1e-15, ftol_rel = 1e-15, xtol_abs = 1e-12,
                                   xtol_rel = 1e-12, maxeval = 1e5))

did3 <- read("did_3w.csv")
did3$wave <- factor(did3$wave, levels = c("T0", "T1", "T2"))
did3$condition <- factor(did3$condition, levels = c("control", "intervention"))
did3$role <- factor(did3$role, levels = c("parent", "teacher"))
did2 <- read("did_2w_8.csv")
did2$wave <- factor(did2$wave, levels = c("pre", "post"))
did2$condition <- factor(did2$condition, levels = c("control", "intervention"))
crossed <- read("crossed.csv")
crossed$group <- factor(crossed$group, levels = c("a", "b"))

re3 <- "(1 | school_id) + (1 | school_id:wave) + (1 | school_id:respondent_id)"
models <- list(
  did_3w = list(data = "did3", formula = paste("score ~ wave * condition +", re3), reml = TRUE),
  did_3w_role = list(data = "did3", formula = paste("score ~ wave * condition + role +", re3),
                     reml = TRUE),
  did_3w_ml = list(data = "did3", formula = paste("score ~ wave * condition +", re3),
                   reml = FALSE),
  did_3w_no_sw = list(data = "did3", reml = TRUE, formula =
    "score ~ wave * condition + (1 | school_id) + (1 | school_id:respondent_id)"),
  did_2w_8 = list(data = "did2", formula = paste("score ~ wave * condition +", re3), reml = TRUE),
  crossed = list(data = "crossed", reml = TRUE,
                 formula = "y ~ x + group + (1 | subject) + (1 | item) + (1 | rater)")
)

out <- list(meta = list(
  R = R.version.string, lme4 = as.character(packageVersion("lme4")),
  lmerTest = as.character(packageVersion("lmerTest")),
  numDeriv = as.character(packageVersion("numDeriv")),
  data_md5 = as.list(md5sum(file.path(here, "data", c("did_3w.csv", "did_2w_8.csv",
                                                         "crossed.csv")))),
  control = "lmerControl(optimizer = 'nloptwrap', optCtrl = list(ftol_abs = 1e-15, ftol_rel = 1e-15, xtol_abs = 1e-12, xtol_rel = 1e-12, maxeval = 1e5))"))
names(out$meta$data_md5) <- basename(names(out$meta$data_md5))

for (m in names(models)) {
  spec <- models[[m]]
  call <- sprintf("lmerTest::lmer(%s, data = %s, REML = %s, control = ctrl)", spec$formula,
                  spec$data, spec$reml)
  fit <- lmer(as.formula(spec$formula), data = get(spec$data), REML = spec$reml, control = ctrl)
  co <- summary(fit, ddf = "Satterthwaite")$coefficients
  vc <- as.data.frame(VarCorr(fit))
  blk <- list(call = call, terms = rownames(co), estimate = unname(co[, "Estimate"]),
              se = unname(co[, "Std. Error"]), df = unname(co[, "df"]),
              t = unname(co[, "t value"]), p = unname(co[, "Pr(>|t|)"]),
              theta = unname(getME(fit, "theta")), theta_names = names(getME(fit, "theta")),
              sigma = sigma(fit), varcomp = as.list(setNames(vc$vcov, vc$grp)),
              criterion = if (spec$reml) REMLcrit(fit) else deviance(fit),
              logLik = as.numeric(logLik(fit)), singular = isSingular(fit),
              nobs = nobs(fit), ngrps = as.list(ngrps(fit)))
  if (grepl("^did_3w", m)) {
    L <- setNames(rep(0, length(fixef(fit))), names(fixef(fit)))
    L["waveT2:conditionintervention"] <- 1
    L["waveT1:conditionintervention"] <- -1
    ct <- contest(fit, L, joint = FALSE)
    blk$contrast_T2_minus_T1 <- list(
      call = "contest(fit, L, joint = FALSE), L = waveT2:conditionintervention - waveT1:conditionintervention",
      estimate = ct$Estimate, se = ct[["Std. Error"]], df = ct$df, t = ct[["t value"]],
      p = ct[["Pr(>|t|)"]], ci_low = ct$lower, ci_high = ct$upper)
    L2 <- rbind(as.numeric(names(fixef(fit)) == "waveT1:conditionintervention"),
                as.numeric(names(fixef(fit)) == "waveT2:conditionintervention"))
    jt <- contest(fit, L2, joint = TRUE)
    av <- anova(fit)["wave:condition", ]
    blk$joint_did <- list(
      call = "contest(fit, L2, joint = TRUE), L2 = the two wave:condition coefficients; anova(fit)['wave:condition', ]",
      F = jt[["F value"]], num_df = jt$NumDF, den_df = jt$DenDF, p = jt[["Pr(>F)"]],
      anova_F = av[["F value"]], anova_den_df = av$DenDF)
  }
  out[[m]] <- blk
}
write_json(out, file.path(here, "r_mixed.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE)
