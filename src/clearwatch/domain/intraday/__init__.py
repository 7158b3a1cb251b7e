"""Intraday fund control of a fast trading node: the book of what clients may still order."""
