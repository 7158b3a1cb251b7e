"""Tamper-evident audit log: records chained by hash."""
