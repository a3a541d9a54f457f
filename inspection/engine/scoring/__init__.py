"""From scores to decisions and figures.

``metrics`` holds the measures of a set of scores (scikit-learn's curves,
AUROC and AP, plus binned pixel AUROC, rates at a threshold, Wilson intervals,
per-region recall); ``thresholds`` places operating points (score >=
threshold -> defective); ``evaluation`` trains a method on a data set and
measures it, for the command line and the benchmarks.
"""
