"""The HTTP API (FastAPI): filled by the platform issue."""
