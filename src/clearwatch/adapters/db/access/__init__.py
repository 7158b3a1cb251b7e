"""Access control in the relational store."""
