"""Ingest: what institutions and systems deliver, described as data."""
