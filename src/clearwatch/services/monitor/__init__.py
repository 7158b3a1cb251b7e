"""Use cases of the monitor: registry, package intake, the daily run."""
