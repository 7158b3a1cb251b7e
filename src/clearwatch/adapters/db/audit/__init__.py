"""The audit log in the relational store."""
