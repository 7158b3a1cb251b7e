"""The monitor's intake and daily runs in the relational store."""
