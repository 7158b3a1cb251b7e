"""Intraday node state in the relational store."""
