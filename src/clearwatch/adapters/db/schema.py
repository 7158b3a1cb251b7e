"""Every table module, imported so the shared MetaData knows the whole schema."""

from clearwatch.adapters.db import tables_audit  # noqa: F401
from clearwatch.adapters.db.metadata import metadata

__all__ = ["metadata"]
