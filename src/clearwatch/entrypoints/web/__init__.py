"""The web pages (Jinja2): filled by the interaction platform issue."""
