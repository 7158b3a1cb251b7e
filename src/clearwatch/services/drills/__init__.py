"""Drills that replay the two incidents on the real code paths."""
