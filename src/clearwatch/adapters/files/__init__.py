"""adapters files layer."""
