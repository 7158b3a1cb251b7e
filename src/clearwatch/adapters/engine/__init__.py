"""adapters engine layer."""
