# Reference values for partnerschap-eval, computed independently in R.
#
# Usage (from the repository root):
#   python3 tests/reference/make_data.py
#   Rscript tests/reference/reference.R
#
# Reads the CSVs in tests/reference/data/ (and first exports bfi_items.csv from
# psychTools), then writes tests/reference/r_values.json.
#
# Every R call that produces a recorded value is written as a string, stored
# in the JSON under "call", and executed from that very string with run(), so
# the recorded call is exactly what ran. The comment above each block repeats
# the call for readers of this script.

suppressPackageStartupMessages({
  library(jsonlite)
  library(psych)
  library(effectsize)
  library(lme4)
  library(lavaan)
})

args_all <- commandArgs(trailingOnly = FALSE)
script_path <- sub("^--file=", "", args_all[grep("^--file=", args_all)])
ref_dir <- if (length(script_path)) dirname(normalizePath(script_path)) else "tests/reference"
data_dir <- file.path(ref_dir, "data")
out_file <- file.path(ref_dir, "r_values.json")

# Evaluate a call given as a string in the caller's environment.
run <- function(call) eval(parse(text = call), envir = parent.frame())
num <- function(x) unname(as.numeric(x))
named <- function(x) as.list(setNames(as.numeric(x), names(x)))

# ---------------------------------------------------------------------------
# 0. bfi export (psychTools::bfi: 2800 rows, 25 items A1..O5 on 1..6, gender
#    1 = male, 2 = female). Written with empty cells for NA.
# ---------------------------------------------------------------------------
bfi_cols <- c(paste0(rep(c("A", "C", "E", "N", "O"), each = 5), 1:5), "gender")
bfi_export <- psychTools::bfi[, bfi_cols]
write.csv(bfi_export, file.path(data_dir, "bfi_items.csv"), row.names = FALSE, na = "")

read_data <- function(name) read.csv(file.path(data_dir, name), na.strings = "",
                                      stringsAsFactors = FALSE)

# ---------------------------------------------------------------------------
# a. Paired pre/post statistics
# ---------------------------------------------------------------------------
R_XX <- 0.80   # reliability used for the Jacobson-Truax reliable change index

ncp_ci <- function(t, df, level = 0.95) {
  # Noncentral-t confidence limits for the noncentrality parameter: the lower
  # limit solves pt(t, df, ncp) = 1 - alpha/2, the upper pt(t, df, ncp) = alpha/2.
  a <- 1 - level
  f <- function(ncp, p) pt(t, df, ncp) - p
  find <- function(p) {
    w <- 10
    repeat {
      lo <- t - w; hi <- t + w
      if (suppressWarnings(f(lo, p) * f(hi, p)) < 0) break
      w <- w * 2
    }
    # pt() warns about precision only far out in the tails (the bracket ends);
    # the roots themselves are checked warning-free below.
    suppressWarnings(uniroot(f, c(lo, hi), p = p, tol = 1e-13, maxiter = 10000)$root)
  }
  lim <- c(find(1 - a / 2), find(a / 2))
  chk <- pt(t, df, lim)   # no suppression here: a warning would surface
  stopifnot(abs(chk - c(1 - a / 2, a / 2)) < 1e-12)
  lim
}

paired_block <- function(pre, post, source) {
  stopifnot(length(pre) == length(post), !anyNA(pre), !anyNA(post))
  n <- length(pre)
  diff <- post - pre
  df <- n - 1
  out <- list(source = source, n = n)

  out$descriptives <- list(
    mean_pre = mean(pre), sd_pre = sd(pre),
    mean_post = mean(post), sd_post = sd(post),
    mean_diff = mean(diff), sd_diff = sd(diff),
    r_pre_post = cor(pre, post),
    note = "sd uses the n - 1 denominator; diff = post - pre"
  )

  # t.test(post, pre, paired = TRUE)
  call <- "t.test(post, pre, paired = TRUE)"
  tt <- run(call)
  out$t_test <- list(call = call, t = num(tt$statistic), df = num(tt$parameter),
                     p = tt$p.value, conf_int = num(tt$conf.int),
                     conf_level = attr(tt$conf.int, "conf.level"),
                     estimate = num(tt$estimate))

  # wilcox.test(post, pre, paired = TRUE, exact = FALSE, correct = TRUE)
  call <- "wilcox.test(post, pre, paired = TRUE, exact = FALSE, correct = TRUE)"
  wt <- run(call)
  nz_d <- diff[diff != 0]
  nz <- length(nz_d)
  rk <- rank(abs(nz_d))
  ties <- table(rk)
  z0 <- sum(rk[nz_d > 0]) - nz * (nz + 1) / 4
  sigma <- sqrt(nz * (nz + 1) * (2 * nz + 1) / 24 - sum(ties^3 - ties) / 48)
  z <- (z0 - sign(z0) * 0.5) / sigma
  out$wilcoxon <- list(
    call = call, V = num(wt$statistic), p = wt$p.value,
    n_nonzero = nz, n_zero = n - nz,
    n_tie_groups = sum(ties > 1),
    V_minus = sum(rk[nz_d < 0]),
    z_by_hand = z, p_by_hand = 2 * pnorm(-abs(z)),
    note = paste("V = sum of ranks of positive (post - pre) differences after dropping",
                 "zeros; average ranks for ties (exact float equality of |diff|);",
                 "z = (V - m(m+1)/4 - sign*0.5)/sqrt(m(m+1)(2m+1)/24 - sum(t^3-t)/48),",
                 "m = number of nonzero differences, two-sided p = 2*pnorm(-|z|)")
  )

  # wilcox.test(post, pre, paired = TRUE, exact = FALSE, correct = TRUE, digits.rank = 7)
  # Same test, but |diff| is rounded to 7 significant digits before ranking, so
  # differences that are equal in decimal but not in binary (e.g. 4.1234 - 3.0000
  # vs 2.1234 - 1.0000) count as ties. Zeros are still detected exactly.
  call <- "wilcox.test(post, pre, paired = TRUE, exact = FALSE, correct = TRUE, digits.rank = 7)"
  wt7 <- run(call)
  rk7 <- rank(signif(abs(nz_d), 7))
  out$wilcoxon_digits_rank_7 <- list(
    call = call, V = num(wt7$statistic), p = wt7$p.value,
    n_tie_groups = sum(table(rk7) > 1),
    note = "R's default digits.rank = Inf ranks the raw doubles (ties only on exact binary equality); digits.rank = 7 ranks signif(|diff|, 7)"
  )

  # effectsize::cohens_d(post, pre, paired = TRUE)
  call <- "effectsize::cohens_d(post, pre, paired = TRUE)"
  cd <- run(call)
  out$d_z_effectsize <- list(
    call = call, d_z = cd$Cohens_d, ci = c(cd$CI_low, cd$CI_high), ci_level = cd$CI,
    ci_method = "noncentral t: ncp limits for t = mean_diff/(sd_diff/sqrt(n)), df = n - 1, divided by sqrt(n); effectsize solves it with optim(abstol = 1e-9), so limits are good to ~1e-6",
    note = "with paired = TRUE effectsize 0.8.3 returns d_z = mean(post - pre)/sd(post - pre)"
  )

  # Noncentral-t CI of d_z by uniroot (cross-check, tight tolerance)
  t_obs <- mean(diff) / (sd(diff) / sqrt(n))
  lim <- ncp_ci(t_obs, df)
  out$d_z_ncp_uniroot <- list(
    call = "uniroot(function(ncp) pt(t, df, ncp) - p, ...) for p = 0.975 (lower) and 0.025 (upper); limits / sqrt(n)",
    d_z = mean(diff) / sd(diff), t = t_obs, df = df,
    ncp_limits = lim, ci = lim / sqrt(n), ci_level = 0.95
  )

  # effectsize::hedges_g(post, pre, paired = TRUE)
  call <- "effectsize::hedges_g(post, pre, paired = TRUE)"
  hg <- run(call)
  out$g_z_effectsize <- list(call = call, g_z = hg$Hedges_g, ci = c(hg$CI_low, hg$CI_high),
                             note = "d_z and its ncp CI multiplied by the exact gamma J with df = n - 1")

  # d_av (Lakens 2013): mean difference over the mean of the two SDs
  sd_av <- (sd(pre) + sd(post)) / 2
  d_av <- mean(diff) / sd_av
  # root-mean-variance variant (what effectsize >= 0.8.4 rm_d(method = "av") uses)
  s_rmv <- sqrt((var(pre) + var(post)) / 2)
  d_av_rmv <- mean(diff) / s_rmv
  J_approx <- 1 - 3 / (4 * df - 1)
  J_exact <- exp(lgamma(df / 2) - log(sqrt(df / 2)) - lgamma((df - 1) / 2))
  out$d_av <- list(
    d_av = d_av, sd_av = sd_av,
    formula = "mean(post - pre) / ((sd(pre) + sd(post)) / 2)   [Lakens 2013, eq. 10]",
    d_av_rmv = d_av_rmv, s_rmv = s_rmv,
    formula_rmv = "mean(post - pre) / sqrt((var(pre) + var(post)) / 2)   [root mean variance]",
    df = df, J_approx = J_approx, J_exact = J_exact,
    J_formulas = c("J_approx = 1 - 3/(4*df - 1)",
                   "J_exact = gamma(df/2) / (sqrt(df/2) * gamma((df - 1)/2)), computed via lgamma"),
    g_av_approx = d_av * J_approx, g_av_exact = d_av * J_exact,
    g_av_rmv_exact = d_av_rmv * J_exact,
    rm_d_available = exists("rm_d", where = asNamespace("effectsize"), inherits = FALSE),
    note = paste("effectsize 0.8.3 (installed) has no rm_d()/repeated_measures_d();",
                 "in effectsize >= 0.8.4 rm_d(method = 'av') standardizes by",
                 "sqrt((var(x) + var(y))/2) (root mean variance, here d_av_rmv), applies",
                 "the exact gamma J by default (adjust = TRUE) and gives a normal-theory CI;",
                 "rm_d(method = 'z') is d_z. Both variants are computed here by hand.")
  )

  # Jacobson-Truax reliable change
  s_diff <- sqrt(2) * sd(pre) * sqrt(1 - R_XX)
  rc <- diff / s_diff
  out$reliable_change <- list(
    r_xx = R_XX, sd_pre = sd(pre), s_diff = s_diff, cutoff = 1.96,
    n_improved = sum(rc > 1.96), n_deteriorated = sum(rc < -1.96),
    n_unchanged = sum(abs(rc) <= 1.96),
    rc_min = min(rc), rc_max = max(rc),
    formula = "S_diff = sqrt(2)*sd(pre)*sqrt(1 - r_xx); RC = (post - pre)/S_diff; improved RC > 1.96, deteriorated RC < -1.96"
  )
  out
}

paired <- list()

# sleep: pre = group 1, post = group 2 (checked against datasets::sleep)
sw <- read_data("sleep_wide.csv")
stopifnot(isTRUE(all.equal(sw$pre, datasets::sleep$extra[datasets::sleep$group == 1])),
          isTRUE(all.equal(sw$post, datasets::sleep$extra[datasets::sleep$group == 2])))
for (nm in c("sleep_wide", "paired_a", "paired_b")) {
  d <- read_data(paste0(nm, ".csv"))
  pre <- d$pre; post <- d$post
  paired[[nm]] <- paired_block(pre, post, paste0("data/", nm, ".csv: columns pre, post"))
}

# long_missing complete pairs: respondents with a non-missing score at both waves
lm_all <- read_data("long_missing.csv")
ok <- lm_all[!is.na(lm_all$score), ]
pre_rows <- ok[ok$wave == "pre", c("respondent_id", "score")]
post_rows <- ok[ok$wave == "post", c("respondent_id", "score")]
pairs <- merge(pre_rows, post_rows, by = "respondent_id", suffixes = c("_pre", "_post"))
pairs <- pairs[order(pairs$respondent_id), ]
pre <- pairs$score_pre; post <- pairs$score_post
paired$long_missing_pairs <- paired_block(
  pre, post,
  "data/long_missing.csv: rows with non-missing score, pre and post matched on respondent_id (inner join)")
all_ids <- unique(lm_all$respondent_id)
paired$long_missing_pairs$pairing <- list(
  n_rows = nrow(lm_all), n_rows_missing_score = sum(is.na(lm_all$score)),
  n_respondents = length(all_ids),
  n_pairs = nrow(pairs),
  n_with_pre_row = length(unique(lm_all$respondent_id[lm_all$wave == "pre"])),
  n_with_post_row = length(unique(lm_all$respondent_id[lm_all$wave == "post"])),
  paired_ids = pairs$respondent_id
)

# ---------------------------------------------------------------------------
# b. Benjamini-Hochberg
# ---------------------------------------------------------------------------
bh_block <- function(p, call) list(call = call, p = p, adjusted = run(call))
bh <- list(
  # p.adjust(c(.01, .04, .03, .005, .20), "BH")
  domain_example = bh_block(c(.01, .04, .03, .005, .20), 'p.adjust(c(.01, .04, .03, .005, .20), "BH")'),
  # p.adjust(c(0.001, 0.008, 0.039, 0.041, 0.042, 0.060, 0.074, 0.205), "BH")
  eight = bh_block(c(0.001, 0.008, 0.039, 0.041, 0.042, 0.060, 0.074, 0.205),
                   'p.adjust(c(0.001, 0.008, 0.039, 0.041, 0.042, 0.060, 0.074, 0.205), "BH")'),
  # p.adjust(c(0.03, 0.01, 0.03, 0.5, 0.002, 0.04, 0.03, 0.9), "BH")  (unsorted, ties)
  eight_unsorted_ties = bh_block(c(0.03, 0.01, 0.03, 0.5, 0.002, 0.04, 0.03, 0.9),
                                 'p.adjust(c(0.03, 0.01, 0.03, 0.5, 0.002, 0.04, 0.03, 0.9), "BH")')
)

# ---------------------------------------------------------------------------
# c. Mixed models on long_missing (all non-missing rows, dropouts included)
# ---------------------------------------------------------------------------
mm <- lm_all[!is.na(lm_all$score), ]
mm$wave <- factor(mm$wave, levels = c("pre", "post"))
mm$role <- factor(mm$role, levels = c("parent", "teacher"))
mm$school_id <- factor(mm$school_id)
mm$respondent_id <- factor(mm$respondent_id)

mixed_block <- function(call) {
  fit <- run(call)
  sm <- summary(fit)
  co <- sm$coefficients
  fixed <- lapply(seq_len(nrow(co)), function(i)
    list(estimate = co[i, "Estimate"], se = co[i, "Std. Error"], t = co[i, "t value"]))
  names(fixed) <- rownames(co)
  vc <- as.data.frame(VarCorr(fit))
  comp_name <- function(g) if (g == "school_id") "school" else if (g == "Residual") "residual" else "respondent"
  varcomp <- setNames(as.list(vc$vcov), vapply(vc$grp, comp_name, ""))
  sdcomp <- setNames(as.list(vc$sdcor), vapply(vc$grp, comp_name, ""))
  v_s <- varcomp$school
  v_r <- if (is.null(varcomp$respondent)) 0 else varcomp$respondent
  v_e <- varcomp$residual
  est <- co["wavepost", "Estimate"]; se <- co["wavepost", "Std. Error"]
  z <- est / se
  reml <- isREML(fit)
  ng <- ngrps(fit)
  list(
    call = call, REML = reml, n_obs = nobs(fit),
    n_groups = as.list(setNames(as.numeric(ng), names(ng))),
    fixed = fixed,
    wave_effect = list(term = "wavepost", estimate = est, se = se, z = z,
                       p_normal = 2 * pnorm(-abs(z)),
                       ci_wald = est + c(-1, 1) * qnorm(0.975) * se,
                       note = "p = 2*pnorm(-|t|) (normal approximation to lme4's t value); CI = estimate -/+ qnorm(.975)*SE"),
    varcomp = varcomp, sd = sdcomp,
    varcomp_groups_as_R_names = as.list(setNames(vc$vcov, vc$grp)),
    icc_school = v_s / (v_s + v_r + v_e),
    icc_respondent = if (is.null(varcomp$respondent)) NULL else (v_s + v_r) / (v_s + v_r + v_e),
    icc_note = "icc_school = var_school/(var_school + var_respondent + var_residual) (var_respondent = 0 if absent); icc_respondent = (var_school + var_respondent)/total = correlation of two rows of the same respondent",
    logLik = as.numeric(logLik(fit)),
    logLik_df = attr(logLik(fit), "df"),
    logLik_note = if (reml) "REML log-likelihood (logLik of a REML fit); REMLcrit = -2*logLik" else "ML log-likelihood; deviance = -2*logLik",
    REMLcrit_or_deviance = if (reml) REMLcrit(fit) else deviance(fit),
    AIC = AIC(fit), BIC = BIC(fit),
    singular = isSingular(fit),
    optimizer = fit@optinfo$optimizer,
    conv_messages = as.list(fit@optinfo$conv$lme4$messages)
  )
}

mixed <- list(
  # lme4::lmer(score ~ wave + (1 | school_id/respondent_id), data = mm, REML = TRUE)
  nested_wave_reml = mixed_block("lme4::lmer(score ~ wave + (1 | school_id/respondent_id), data = mm, REML = TRUE)"),
  # lme4::lmer(score ~ wave + role + (1 | school_id) + (1 | respondent_id), data = mm, REML = TRUE)
  wave_role_reml = mixed_block("lme4::lmer(score ~ wave + role + (1 | school_id) + (1 | respondent_id), data = mm, REML = TRUE)"),
  # lme4::lmer(score ~ wave + (1 | school_id), data = mm, REML = TRUE)
  school_only_wave_reml = mixed_block("lme4::lmer(score ~ wave + (1 | school_id), data = mm, REML = TRUE)"),
  # lme4::lmer(score ~ wave + (1 | school_id/respondent_id), data = mm, REML = FALSE)
  nested_wave_ml = mixed_block("lme4::lmer(score ~ wave + (1 | school_id/respondent_id), data = mm, REML = FALSE)"),
  # lme4::lmer(score ~ wave + role + (1 | school_id) + (1 | respondent_id), data = mm, REML = FALSE)
  wave_role_ml = mixed_block("lme4::lmer(score ~ wave + role + (1 | school_id) + (1 | respondent_id), data = mm, REML = FALSE)"),
  # lme4::lmer(score ~ wave + (1 | school_id), data = mm, REML = FALSE)
  school_only_wave_ml = mixed_block("lme4::lmer(score ~ wave + (1 | school_id), data = mm, REML = FALSE)")
)
mixed$data <- list(
  source = "data/long_missing.csv, rows with non-missing score (dropouts and late joiners included)",
  n_rows = nrow(mm), n_schools = nlevels(mm$school_id), n_respondents = nlevels(mm$respondent_id),
  factor_levels = list(wave = levels(mm$wave), role = levels(mm$role))
)

# ---------------------------------------------------------------------------
# d. Reliability: psych::alpha and omega (psych and lavaan one-factor CFA)
# ---------------------------------------------------------------------------
synth <- read_data("items_synth.csv")
bfi <- read_data("bfi_items.csv")

scales <- list(
  synth_rec = list(x = synth[, paste0("rec", 1:4)], src = "items_synth.csv rec1..rec4 (all positively keyed)"),
  synth_twc = list(x = synth[, paste0("twc", 1:4)], src = "items_synth.csv twc1..twc4 (all positively keyed)"),
  synth_sdm = list(x = synth[, paste0("sdm", 1:4)], src = "items_synth.csv sdm1..sdm4 (all positively keyed)"),
  bfi_A2_A5 = list(x = bfi[, paste0("A", 2:5)], src = "bfi_items.csv A2..A5 (positively keyed; A1 left out)"),
  bfi_A = list(x = data.frame(A1r = 7 - bfi$A1, bfi[, paste0("A", 2:5)]),
               src = "bfi_items.csv A1r = 7 - A1 (reversed), A2..A5"),
  bfi_C = list(x = data.frame(bfi[, paste0("C", 1:3)], C4r = 7 - bfi$C4, C5r = 7 - bfi$C5),
               src = "bfi_items.csv C1, C2, C3, C4r = 7 - C4, C5r = 7 - C5 (reversed)")
)

feldt_hand <- function(a, n, k) c(lower = 1 - (1 - a) * qf(0.975, n - 1, (n - 1) * (k - 1)),
                                  upper = 1 - (1 - a) * qf(0.025, n - 1, (n - 1) * (k - 1)))

alpha_extract <- function(a, call, x_used, n_feldt) {
  k <- ncol(x_used)
  is <- a$item.stats
  ad <- a$alpha.drop
  raw <- a$total$raw_alpha
  list(
    call = call,
    n_rows = nrow(x_used), n_complete = sum(complete.cases(x_used)), k = k,
    raw_alpha = raw, std_alpha = a$total$std.alpha, G6_smc = a$total[["G6(smc)"]],
    average_r = a$total$average_r, ase = a$total$ase,
    total_mean = a$total$mean, total_sd = a$total$sd,
    feldt_psych = list(lower = num(a$feldt$lower.ci), alpha = num(a$feldt$alpha), upper = num(a$feldt$upper.ci),
                       n_used = n_feldt),
    feldt_by_hand = as.list(feldt_hand(raw, n_feldt, k)),
    item_stats = list(
      item = rownames(is), n = num(is$n), mean = num(is$mean), sd = num(is$sd),
      raw_r = num(is$raw.r), std_r = num(is$std.r), r_cor = num(is$r.cor),
      r_drop = num(is$r.drop)
    ),
    alpha_drop = list(item = rownames(ad), raw_alpha = num(ad$raw_alpha),
                      std_alpha = num(ad$std.alpha), average_r = num(ad$average_r))
  )
}

alpha_out <- list()
omega_out <- list()
for (nm in names(scales)) {
  x <- scales[[nm]]$x
  xl <- na.omit(x)
  attr(xl, "na.action") <- NULL
  k <- ncol(x)
  # listwise: psych::alpha(xl, check.keys = FALSE) with xl = na.omit(x)
  call_l <- "psych::alpha(xl, check.keys = FALSE)"
  a_l <- run(call_l)
  res_l <- alpha_extract(a_l, paste0(call_l, "   # xl = na.omit(x)"), xl, nrow(xl))
  tot <- rowSums(xl)
  res_l$raw_alpha_by_hand <- k / (k - 1) * (1 - sum(apply(xl, 2, var)) / var(tot))
  # pairwise: psych::alpha(x, check.keys = FALSE, use = "pairwise")
  call_p <- 'psych::alpha(x, check.keys = FALSE, use = "pairwise")'
  a_p <- run(call_p)
  res_p <- alpha_extract(a_p, call_p, x, nrow(x))
  alpha_out[[nm]] <- list(
    source = scales[[nm]]$src, items = colnames(x),
    listwise = res_l, pairwise = res_p,
    note = paste(
      "raw_alpha = k/(k-1)*(1 - tr(C)/sum(C)) with C = cov(x, use = 'pairwise') (listwise: complete rows only).",
      "std_alpha is the same on the correlation matrix. Feldt CI: 1-(1-alpha)*qf(.975|.025, n-1, (n-1)(k-1));",
      "psych uses n = nrow(x) (ALL rows, also incomplete ones, in the pairwise case).",
      "item_stats: raw_r = cor(item, rowMeans(x, na.rm = TRUE)); std_r = colSums(R)/sqrt(sum(R));",
      "r_drop = item-rest correlation computed from C: (sum(C[,i]) - C[i,i])/sqrt(C[i,i]*sum(C[-i,-i]));",
      "r_cor = std_r with smc on the diagonal; mean/sd per item with na.rm; n = answered per item.",
      "alpha_drop = alpha with the item removed (from the same C).")
  )

  # psych::omega(xl, nfactors = 1, fm = "ml", plot = FALSE)
  call_o <- 'psych::omega(xl, nfactors = 1, fm = "ml", plot = FALSE)'
  om <- suppressWarnings(suppressMessages(run(call_o)))
  sl <- om$schmid$sl
  Rm <- cor(xl)
  # one-factor CFA: lavaan::cfa(model, data = xl, std.lv = TRUE, estimator = "ML")
  model <- paste("f =~", paste(colnames(xl), collapse = " + "))
  call_c <- 'lavaan::cfa(model, data = xl, std.lv = TRUE, estimator = "ML")'
  fit1 <- run(call_c)
  pe <- parameterEstimates(fit1)
  lam <- pe$est[pe$op == "=~"]
  th <- pe$est[pe$op == "~~" & pe$lhs == pe$rhs & pe$lhs %in% colnames(xl)]
  ss <- standardizedSolution(fit1)
  lam_s <- ss$est.std[ss$op == "=~"]
  th_s <- ss$est.std[ss$op == "~~" & ss$lhs == ss$rhs & ss$lhs %in% colnames(xl)]
  S <- lavInspect(fit1, "sampstat")$cov
  omega_out[[nm]] <- list(
    source = scales[[nm]]$src, items = colnames(xl), n = nrow(xl),
    psych = list(
      call = paste0(call_o, "   # xl = na.omit(x)"),
      omega_tot = om$omega.tot, omega_h = om$omega_h, alpha_std = om$alpha,
      g_loadings = num(sl[, "g"]), u2 = num(sl[, "u2"]),
      omega_tot_by_hand = 1 - sum(sl[, "u2"]) / sum(Rm),
      note = paste("psych fits a 1-factor ML factor analysis to the CORRELATION matrix;",
                   "omega.tot = 1 - sum(u2)/sum(R) (R = observed correlation matrix), so it uses",
                   "the observed total variance, not the model-implied one; omega_h = (sum g)^2/sum(R)",
                   "(psych warns that omega_h is not meaningful for one factor). alpha_std is standardized alpha.",
                   "plot = FALSE only suppresses the diagram.")
    ),
    lavaan_cfa = list(
      call = paste0(call_c, '   # model = "f =~ item1 + ... + itemk", xl = na.omit(x)'),
      loadings = lam, residual_variances = th,
      omega_total = sum(lam)^2 / (sum(lam)^2 + sum(th)),
      loadings_std = lam_s, residual_variances_std = th_s,
      omega_total_std = sum(lam_s)^2 / (sum(lam_s)^2 + sum(th_s)),
      omega_total_observed_variance = sum(lam)^2 / sum(S),
      note = paste("omega_total = (sum lambda)^2/((sum lambda)^2 + sum theta) from the unstandardized",
                   "ML solution (std.lv = TRUE: factor variance 1). lavaan's ML uses the covariance",
                   "with divisor N; omega_total is invariant to that scaling.",
                   "omega_total_std uses the standardized (std.all) solution, i.e. omega of the",
                   "standardized items. omega_total_observed_variance = (sum lambda)^2/sum(S), S = ML sample",
                   "covariance (divisor N).")
    )
  )
}

# ---------------------------------------------------------------------------
# e. CFA and measurement invariance (lavaan)
# ---------------------------------------------------------------------------
FM <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr")
fit_info <- function(fit, call) {
  list(call = call, fit_measures = named(fitMeasures(fit, FM)),
       n = lavInspect(fit, "nobs"), ngroups = lavInspect(fit, "ngroups"),
       group_labels = lavInspect(fit, "group.label"),
       npar = num(fitMeasures(fit, "npar")),   # free parameters net of equality constraints
       converged = lavInspect(fit, "converged"))
}
std_loadings <- function(fit) {
  ss <- standardizedSolution(fit)
  ss <- ss[ss$op == "=~", ]
  list(factor = ss$lhs, item = ss$rhs, group = if (is.null(ss$group)) rep(1, nrow(ss)) else ss$group,
       std_all = ss$est.std)
}

synth_c <- read_data("items_synth_complete.csv")
m3 <- paste("rec =~ rec1 + rec2 + rec3 + rec4",
            "twc =~ twc1 + twc2 + twc3 + twc4",
            "sdm =~ sdm1 + sdm2 + sdm3 + sdm4", sep = "\n")

cfa_out <- list()
# lavaan::cfa(m3, data = synth_c, estimator = "ML")
call <- 'lavaan::cfa(m3, data = synth_c, estimator = "ML")'
f_all <- run(call)
cfa_out$synth_3f <- c(fit_info(f_all, call), list(model = m3, std_loadings = std_loadings(f_all)))
for (r in c("parent", "teacher", "youthworker")) {
  # lavaan::cfa(m3, data = synth_c[synth_c$role == "<role>", ], estimator = "ML")
  call <- sprintf('lavaan::cfa(m3, data = synth_c[synth_c$role == "%s", ], estimator = "ML")', r)
  cfa_out[[paste0("synth_3f_", r)]] <- c(fit_info(run(call), call), list(model = m3))
}

bfi_A <- na.omit(data.frame(A1r = 7 - bfi$A1, bfi[, paste0("A", 2:5)]))
mA <- "A =~ A1r + A2 + A3 + A4 + A5"
# lavaan::cfa(mA, data = bfi_A, estimator = "ML")
call <- 'lavaan::cfa(mA, data = bfi_A, estimator = "ML")'
fA <- run(call)
cfa_out$bfi_A_1f <- c(fit_info(fA, call), list(model = mA, std_loadings = std_loadings(fA),
                                               data_note = "A1r = 7 - A1; listwise complete on A1..A5"))

lav_opts <- lavInspect(f_all, "options")
cfa_out$settings <- list(
  lavaan_version = as.character(packageVersion("lavaan")),
  options = lav_opts[c("estimator", "likelihood", "information", "se", "test", "mimic",
                       "meanstructure", "sample.cov.rescale", "std.lv", "auto.fix.first",
                       "missing", "optim.method")],
  note = paste("Defaults of lavaan 0.6.14 with estimator = 'ML': likelihood = 'normal' (sample covariance with",
               "divisor N, chisq = N * F_ML, summed over groups in multi-group fits), expected information,",
               "standard SEs and test, mimic = 'lavaan', marker-variable identification (first loading = 1)",
               "unless std.lv = TRUE, listwise deletion (missing = 'listwise'). Items are treated as continuous.",
               "Multi-group RMSEA is multiplied by sqrt(G) (lavaan default). SRMR is lavaan's 'srmr' (Bentler,",
               "with mean structure when meanstructure = TRUE, i.e. in multi-group fits).")
)

invariance_block <- function(model, data, group, desc) {
  fits <- list()
  # configural: lavaan::cfa(model, data = data, group = "<group>", estimator = "ML")
  # metric:     lavaan::cfa(model, data = data, group = "<group>", group.equal = "loadings", estimator = "ML")
  # scalar:     lavaan::cfa(model, data = data, group = "<group>",
  #                         group.equal = c("loadings", "intercepts"), estimator = "ML")
  # then lavTestLRT(configural, metric, scalar)
  calls <- c(
    configural = sprintf('lavaan::cfa(model, data = data, group = "%s", estimator = "ML")', group),
    metric = sprintf('lavaan::cfa(model, data = data, group = "%s", group.equal = "loadings", estimator = "ML")', group),
    scalar = sprintf('lavaan::cfa(model, data = data, group = "%s", group.equal = c("loadings", "intercepts"), estimator = "ML")', group)
  )
  out <- list(data = desc, model = model)
  for (s in names(calls)) {
    fits[[s]] <- run(calls[[s]])
    out[[s]] <- fit_info(fits[[s]], calls[[s]])
  }
  fm <- function(s, m) out[[s]]$fit_measures[[m]]
  lrt <- lavTestLRT(fits$configural, fits$metric, fits$scalar)
  out$delta <- list(
    metric_vs_configural = list(cfi = fm("metric", "cfi") - fm("configural", "cfi"),
                                rmsea = fm("metric", "rmsea") - fm("configural", "rmsea"),
                                chisq = fm("metric", "chisq") - fm("configural", "chisq"),
                                df = fm("metric", "df") - fm("configural", "df"),
                                p_lrt = lrt[["Pr(>Chisq)"]][2]),
    scalar_vs_metric = list(cfi = fm("scalar", "cfi") - fm("metric", "cfi"),
                            rmsea = fm("scalar", "rmsea") - fm("metric", "rmsea"),
                            chisq = fm("scalar", "chisq") - fm("metric", "chisq"),
                            df = fm("scalar", "df") - fm("metric", "df"),
                            p_lrt = lrt[["Pr(>Chisq)"]][3]),
    note = "delta = (more constrained) - (less constrained); a CFI drop shows as a negative delta cfi. p_lrt from lavTestLRT(configural, metric, scalar) (standard chi-square difference test)."
  )
  out
}

invariance <- list()
# configural / metric / scalar across role on items_synth_complete.csv
invariance$synth_role <- invariance_block(m3, synth_c, "role", "items_synth_complete.csv, 3 factors x 4 items, group = role (n = 200 each)")

m5 <- paste("A =~ A1 + A2 + A3 + A4 + A5",
            "C =~ C1 + C2 + C3 + C4 + C5",
            "E =~ E1 + E2 + E3 + E4 + E5",
            "N =~ N1 + N2 + N3 + N4 + N5",
            "O =~ O1 + O2 + O3 + O4 + O5", sep = "\n")
bfi_cc <- na.omit(bfi[, bfi_cols])
attr(bfi_cc, "na.action") <- NULL
invariance$bfi_gender_5f <- invariance_block(
  m5, bfi_cc, "gender",
  "bfi_items.csv, 25 raw items (no reversal; reversed items just load negatively), listwise complete on the 25 items + gender; gender 1 = male, 2 = female")

# ---------------------------------------------------------------------------
# e. Evaluation extras: parent-professional gap (Welch), attrition (Welch +
#    Hedges' g), sensitivity (power.t.test), and further mixed models (one
#    random intercept, a boundary/singular fit, two more datasets).
# ---------------------------------------------------------------------------
welch_info <- function(tt, x, y) {
  list(call = tt$call_string, n_x = length(x), n_y = length(y),
       mean_x = mean(x), mean_y = mean(y), sd_x = sd(x), sd_y = sd(y),
       diff = mean(x) - mean(y), t = num(tt$statistic), df = num(tt$parameter),
       p = tt$p.value, conf_int = num(tt$conf.int), stderr = tt$stderr)
}
welch_run <- function(x, y) {
  # t.test(x, y)  (Welch: var.equal = FALSE is R's default)
  call <- "t.test(x, y)"
  tt <- run(call)
  tt$call_string <- call
  welch_info(tt, x, y)
}
hedges_run <- function(x, y) {
  # effectsize::hedges_g(x, y)  (pooled SD, noncentral-t CI, exact J)
  call <- "effectsize::hedges_g(x, y)"
  hg <- run(call)
  df <- length(x) + length(y) - 2
  sp <- sqrt(((length(x) - 1) * var(x) + (length(y) - 1) * var(y)) / df)
  list(call = call, g = hg$Hedges_g, ci = c(hg$CI_low, hg$CI_high), ci_level = hg$CI,
       d_by_hand = (mean(x) - mean(y)) / sp, df = df,
       J_exact = exp(lgamma(df / 2) - log(sqrt(df / 2)) - lgamma((df - 1) / 2)),
       note = "effectsize 0.8.3: d = (mean(x) - mean(y))/pooled SD; CI from the noncentral t of d/sqrt(1/n1 + 1/n2) with df = n1 + n2 - 2 (optim, ~1e-6); g, CI multiplied by the exact J")
}

# Gap on long_missing: parents minus professionals (here: teachers) per wave on
# all non-missing rows, and the difference in differences on the paired change
# scores (complete pairs as in paired$long_missing_pairs).
ok_rows <- lm_all[!is.na(lm_all$score), ]
gap <- list(source = "data/long_missing.csv, rows with non-missing score; x = parents, y = professionals (role != 'parent', i.e. teachers)")
for (w in c("pre", "post")) {
  gap[[w]] <- welch_run(ok_rows$score[ok_rows$wave == w & ok_rows$role == "parent"],
                        ok_rows$score[ok_rows$wave == w & ok_rows$role != "parent"])
}
pr <- merge(ok_rows[ok_rows$wave == "pre", c("respondent_id", "role", "score")],
            ok_rows[ok_rows$wave == "post", c("respondent_id", "score")],
            by = "respondent_id", suffixes = c("_pre", "_post"))
delta <- pr$score_post - pr$score_pre
is_par <- pr$role == "parent"
gap$change <- welch_run(delta[is_par], delta[!is_par])
gap$change$gap_pre_paired <- mean(pr$score_pre[is_par]) - mean(pr$score_pre[!is_par])
gap$change$gap_post_paired <- mean(pr$score_post[is_par]) - mean(pr$score_post[!is_par])
gap$change$note <- "x = parents' change scores (post - pre), y = professionals'; diff = difference in differences = gap_post_paired - gap_pre_paired"

# Attrition on long_missing: pre scores of completers (non-missing pre and post
# score) vs dropouts (non-missing pre score, no non-missing post score).
pre_ok <- ok_rows[ok_rows$wave == "pre", ]
post_ids <- unique(ok_rows$respondent_id[ok_rows$wave == "post"])
done <- pre_ok$respondent_id %in% post_ids
attrition <- list(
  source = "data/long_missing.csv: x = pre scores of completers, y = pre scores of dropouts",
  welch = welch_run(pre_ok$score[done], pre_ok$score[!done]),
  hedges_g = hedges_run(pre_ok$score[done], pre_ok$score[!done])
)

# Two independent samples with ties and unequal n: paired_a$pre vs paired_b$pre.
pa <- read_data("paired_a.csv"); pb <- read_data("paired_b.csv")
two_sample <- list(paired_a_pre_vs_paired_b_pre = list(
  source = "x = paired_a.csv pre (n = 60), y = paired_b.csv pre (n = 25)",
  welch = welch_run(pa$pre, pb$pre), hedges_g = hedges_run(pa$pre, pb$pre)))

# Sensitivity: smallest d_z detectable with 80 % power, two-sided alpha = .05.
# power.t.test(n = n, power = 0.8, sd = 1, sig.level = 0.05, type = "paired", strict = TRUE, tol = 1e-12)
sensitivity <- list()
for (n in c(10, 25, 60, 302, 1000)) {
  call <- sprintf('power.t.test(n = %d, power = 0.8, sd = 1, sig.level = 0.05, type = "paired", strict = TRUE, tol = 1e-12)', n)
  pw <- run(call)
  sensitivity[[paste0("n_", n)]] <- list(call = call, n = n, delta = pw$delta,
                                         power_check = power.t.test(n = n, delta = pw$delta, sd = 1, type = "paired", strict = TRUE)$power)
}

# More mixed models.
mmc <- mm
mmc$score <- mm$score - ave(mm$score, mm$school_id)   # school means removed: school variance -> boundary
long_of <- function(d) data.frame(id = factor(rep(d$id, 2)),
                                  wave = factor(rep(c("pre", "post"), each = nrow(d)), levels = c("pre", "post")),
                                  score = c(d$pre, d$post))
sl <- long_of(sw); pal <- long_of(pa)
drop_empty_icc <- function(b) { if (is.null(b$varcomp$school)) b$icc_school <- NULL; b }
# lme4::lmer(score ~ wave + (1 | respondent_id), data = mm, REML = TRUE)
mixed$respondent_only_wave_reml <- drop_empty_icc(mixed_block("lme4::lmer(score ~ wave + (1 | respondent_id), data = mm, REML = TRUE)"))
# lme4::lmer(score ~ wave + (1 | school_id/respondent_id), data = mmc, REML = TRUE)
mixed$nested_wave_reml_school_centred <- mixed_block("lme4::lmer(score ~ wave + (1 | school_id/respondent_id), data = mmc, REML = TRUE)")
mixed$nested_wave_reml_school_centred$data_note <- "mmc = mm with score - ave(score, school_id): every school mean is 0, so the school variance is estimated at the boundary (singular fit)"
# The default optimizer (nloptwrap) stops short on this boundary fit (logLik -712.78 with the
# respondent variance 0.228); bobyqa reaches the optimum (-712.62, the same as the model
# without the school term). Both are recorded.
# lme4::lmer(score ~ wave + (1 | school_id/respondent_id), data = mmc, REML = TRUE, control = lme4::lmerControl(optimizer = "bobyqa"))
mixed$nested_wave_reml_school_centred_bobyqa <- mixed_block("lme4::lmer(score ~ wave + (1 | school_id/respondent_id), data = mmc, REML = TRUE, control = lme4::lmerControl(optimizer = \"bobyqa\"))")
mixed$nested_wave_reml_school_centred_bobyqa$data_note <- mixed$nested_wave_reml_school_centred$data_note
# lme4::lmer(score ~ wave + (1 | id), data = sl, REML = TRUE)   (sleep_wide.csv in long form)
mixed$sleep_id_wave_reml <- drop_empty_icc(mixed_block("lme4::lmer(score ~ wave + (1 | id), data = sl, REML = TRUE)"))
# lme4::lmer(score ~ wave + (1 | id), data = pal, REML = TRUE)  (paired_a.csv in long form)
mixed$paired_a_id_wave_reml <- drop_empty_icc(mixed_block("lme4::lmer(score ~ wave + (1 | id), data = pal, REML = TRUE)"))

# ---------------------------------------------------------------------------
# meta and output
# ---------------------------------------------------------------------------
pkgs <- c("psych", "psychTools", "effectsize", "lme4", "Matrix", "lavaan", "jsonlite")
csvs <- sort(list.files(data_dir, pattern = "\\.csv$"))
meta <- list(
  R_version = R.version.string,
  platform = R.version$platform,
  packages = as.list(setNames(vapply(pkgs, function(p) as.character(packageVersion(p)), ""), pkgs)),
  data_md5 = as.list(setNames(unname(tools::md5sum(file.path(data_dir, csvs))), csvs)),
  generated_by = "Rscript tests/reference/reference.R (after python3 tests/reference/make_data.py)",
  json_precision = "jsonlite::write_json(digits = NA): 15 significant digits",
  notes = list(
    paired = "diff = post - pre everywhere; effect sizes are positive when post > pre.",
    d_av = "d_av = mean_diff/((sd_pre + sd_post)/2) (Lakens 2013); d_av_rmv = mean_diff/sqrt((var_pre + var_post)/2) is what newer effectsize rm_d(method = 'av') uses (not in the installed 0.8.3).",
    hedges = "J_approx = 1 - 3/(4*df - 1); J_exact = gamma(df/2)/(sqrt(df/2)*gamma((df-1)/2)); df = n - 1. effectsize uses J_exact.",
    mixed_p = "lme4 gives no p-values; p_normal = 2*pnorm(-|t|).",
    omega = "psych omega.tot uses the observed correlation matrix (1 - sum(u2)/sum(R)); lavaan omega_total uses the model (sum lambda)^2/((sum lambda)^2 + sum theta).",
    alpha_feldt_n = "psych's Feldt CI uses nrow(x), including incomplete rows, when use = 'pairwise'."
  )
)

out <- list(meta = meta, paired = paired, bh = bh, mixed = mixed, gap = gap,
            attrition = attrition, two_sample = two_sample, sensitivity = sensitivity,
            alpha = alpha_out,
            omega = omega_out, cfa = cfa_out, invariance = invariance)
write_json(out, out_file, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null", null = "null")
cat("wrote", out_file, file.size(out_file), "bytes\n")
