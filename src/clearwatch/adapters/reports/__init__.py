"""Report renderers (HTML) for people to read."""
