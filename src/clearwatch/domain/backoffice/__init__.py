"""The back office: the books (accounts, journal, invariants), batches and fees."""
