"""From scores to decisions and figures: metrics, operating points, and whole-data-set evaluation."""
