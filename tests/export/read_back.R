# Reads every .dta and .sav file `folge export` wrote back with R's haven and prints one
# tab-separated line per file: path (under export/), rows, variables, variables without a
# label, whether `arm` (when there) is labelled 1 pilot / 2 comparison, and how many values
# are Stata's tagged .s / .n or SPSS's user-missing -999999998 / -999999999 (suppressed,
# not estimable). tests/end_to_end.rs holds the lines against the Parquet tables.
# Run: Rscript tests/export/read_back.R <run directory>
suppressMessages(library(haven))
run <- commandArgs(trailingOnly = TRUE)[1]
export <- file.path(run, "export")
for (path in sort(list.files(export, pattern = "\\.(dta|sav)$", recursive = TRUE))) {
  file <- file.path(export, path)
  stata <- grepl("\\.dta$", path)
  data <- if (stata) read_dta(file) else read_sav(file, user_na = TRUE)
  unlabelled <- sum(vapply(data, function(x) is.null(attr(x, "label")), logical(1)))
  arm <- if ("arm" %in% names(data)) {
    labels <- attr(data$arm, "labels")
    labels <- labels[!is.na(labels) & labels > 0]
    identical(unname(as.numeric(labels)), c(1, 2)) && identical(names(labels), c("pilot", "comparison"))
  } else NA
  count <- function(tag, code) {
    sum(vapply(data, function(x) {
      if (!is.numeric(x)) return(0L)
      if (stata) sum(na_tag(x) %in% tag) else sum(unclass(x) %in% code)
    }, integer(1)))
  }
  cat(path, nrow(data), ncol(data), unlabelled, arm, count("s", -999999998),
      count("n", -999999999), sep = "\t")
  cat("\n")
}
