"""Configuration files shipped with the package (fee rates, monitoring rules)."""
