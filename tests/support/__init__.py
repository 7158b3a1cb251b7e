"""Reusable builders for tests: packages, registries."""
