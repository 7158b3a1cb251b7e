"""The monitor's findings engine: Ibis expressions on DuckDB, PostgreSQL, Spark."""
