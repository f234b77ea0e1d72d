# lmerTest's own data sets and published check values, for partnerschap_eval's fit_lmm.
# Run from the repository root: Rscript tests/reference/mixed/lmertest_published.R
# Writes tests/reference/mixed/data/{ham,carrots,tvbo}.csv and
# tests/reference/mixed/r_lmertest_published.json. Every block keeps its R call under `call`.
#
# Published values: lmerTest's installed `testdata/test_paper_objects.RData` holds the results
# printed in Kuznetsova, Brockhoff & Christensen (2017, J. Stat. Softw. 82(13)), section 8
# (`an8.2_save`: the type III table of the TVbo model; `sum8.3_save`: the carrots model with
# random slopes, outside the random-intercept class of fit_lmm, so not used). The SAS PROC MIXED
# numbers the paper compares with are not in the installed package (only the R objects are).
suppressPackageStartupMessages({library(lmerTest); library(jsonlite); library(tools)})

here <- "tests/reference/mixed"
ctrl <- lmerControl(optimizer = "nloptwrap",
                    optCtrl = list(ftol_abs = 1e-15, ftol_rel = 1e-15, xtol_abs = 1e-12,
                                   xtol_rel = 1e-12, maxeval = 1e5))
data("ham", package = "lmerTest")
data("carrots", package = "lmerTest")
data("TVbo", package = "lmerTest")
tvbo <- TVbo[, c("Assessor", "TVset", "Picture", "Sharpnessofmovement")]
write.csv(ham[, c("Consumer", "Product", "Information", "Informed.liking")],
          file.path(here, "data", "ham.csv"), row.names = FALSE)
write.csv(carrots[, c("Consumer", "Product", "Homesize", "sens2", "Preference")],
          file.path(here, "data", "carrots.csv"), row.names = FALSE)
write.csv(tvbo, file.path(here, "data", "tvbo.csv"), row.names = FALSE)

e <- new.env()
load(system.file("testdata", "test_paper_objects.RData", package = "lmerTest"), envir = e)
pub <- e$an8.2_save

out <- list(meta = list(
  R = R.version.string, lme4 = as.character(packageVersion("lme4")),
  lmerTest = as.character(packageVersion("lmerTest")),
  data_md5 = as.list(md5sum(file.path(here, "data", c("ham.csv", "carrots.csv", "tvbo.csv")))),
  control = "lmerControl(optimizer = 'nloptwrap', optCtrl = list(ftol_abs = 1e-15, ftol_rel = 1e-15, xtol_abs = 1e-12, xtol_rel = 1e-12, maxeval = 1e5))"),
  published_tvbo = list(
    source = "lmerTest testdata/test_paper_objects.RData, an8.2_save (Kuznetsova et al. 2017, sec. 8.2)",
    terms = rownames(pub), sum_sq = pub[["Sum Sq"]], num_df = pub$NumDF, den_df = pub$DenDF,
    F = pub[["F value"]], p = pub[["Pr(>F)"]]))
names(out$meta$data_md5) <- basename(names(out$meta$data_md5))

fit_block <- function(formula, data, name) {
  fit <- lmer(as.formula(formula), data = data, REML = TRUE, control = ctrl)
  co <- summary(fit, ddf = "Satterthwaite")$coefficients
  vc <- as.data.frame(VarCorr(fit))
  av <- anova(fit, type = "III")
  list(call = sprintf("lmerTest::lmer(%s, data = %s, REML = TRUE, control = ctrl)", formula, name),
       terms = rownames(co), estimate = unname(co[, "Estimate"]),
       se = unname(co[, "Std. Error"]), df = unname(co[, "df"]), t = unname(co[, "t value"]),
       p = unname(co[, "Pr(>|t|)"]), varcomp = as.list(setNames(vc$vcov, vc$grp)),
       criterion = REMLcrit(fit), nobs = nobs(fit),
       anova = list(call = "anova(fit, type = 'III')", terms = rownames(av), F = av[["F value"]],
                    num_df = av$NumDF, den_df = av$DenDF, p = av[["Pr(>F)"]]),
       fit = fit)
}

ham_b <- fit_block("Informed.liking ~ Product * Information + (1 | Consumer) + (1 | Consumer:Product)",
                   ham, "ham")
# the effect of information on product 2 (treatment coding: Information2 + Product2:Information2)
L <- setNames(rep(0, length(fixef(ham_b$fit))), names(fixef(ham_b$fit)))
L[c("Information2", "Product2:Information2")] <- 1
ct <- contest(ham_b$fit, L, joint = FALSE)
ham_b$contrast_information_product2 <- list(
  call = "contest(fit, L, joint = FALSE), L = Information2 + Product2:Information2",
  estimate = ct$Estimate, se = ct[["Std. Error"]], df = ct$df, t = ct[["t value"]],
  p = ct[["Pr(>|t|)"]], ci_low = ct$lower, ci_high = ct$upper)
carrots_b <- fit_block("Preference ~ sens2 + Homesize + (1 | Consumer) + (1 | Product)",
                       carrots, "carrots")
tvbo_b <- fit_block(paste("Sharpnessofmovement ~ TVset * Picture + (1 | Assessor) +",
                          "(1 | Assessor:TVset) + (1 | Assessor:Picture)"), tvbo, "tvbo")
for (b in c("ham_b", "carrots_b", "tvbo_b")) {
  blk <- get(b)
  blk$fit <- NULL
  out[[sub("_b$", "", b)]] <- blk
}
write_json(out, file.path(here, "r_lmertest_published.json"), auto_unbox = TRUE, digits = NA,
           pretty = TRUE)
