"""Double-entry books of the back office: accounts, entries, balances, invariants."""
