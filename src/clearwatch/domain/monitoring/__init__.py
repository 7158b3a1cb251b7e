"""The monitor: registry, findings, criteria, grading, routing."""
