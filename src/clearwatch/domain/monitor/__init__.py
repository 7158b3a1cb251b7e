"""The monitor: packages, registry, findings, criteria, grading, routing."""
