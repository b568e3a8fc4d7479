"""What users read: per-target structures, confidence files and plots, the batch summary, regression verdicts."""
