"""Market-day simulator: a consistent market of brokers, banks and CSDC, with injectable faults.

It lives beside the layers: it may import `clearwatch.domain`, numpy, pyarrow and duckdb, never
services or adapters, so it can feed every part of the system as plain files.
"""
