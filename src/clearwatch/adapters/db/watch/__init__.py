"""Relational storage of the watch: the risk desk's reviews of alerts."""
