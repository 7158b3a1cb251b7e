"""The back office's books in the relational and columnar stores."""
