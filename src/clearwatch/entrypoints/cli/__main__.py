"""`python -m clearwatch.entrypoints.cli` runs the CLI (what the tests drive)."""

from clearwatch.entrypoints.cli.main import app

app()
