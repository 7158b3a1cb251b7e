"""entrypoints cli layer."""
