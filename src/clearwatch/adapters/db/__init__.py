"""adapters db layer."""
