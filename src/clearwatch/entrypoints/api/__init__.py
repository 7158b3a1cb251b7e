"""The HTTP API (FastAPI): the same services as the CLI, behind bearer tokens and the policy."""
