"""Use cases of the back office: batches, books, end of day."""
