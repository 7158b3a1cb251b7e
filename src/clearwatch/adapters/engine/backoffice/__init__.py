"""The back office's row work as Ibis expressions on DuckDB."""
