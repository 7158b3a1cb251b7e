"""Every table module, imported so the shared MetaData knows the whole schema."""

from clearwatch.adapters.db import (
    tables_access,  # noqa: F401
    tables_audit,  # noqa: F401
    tables_books,  # noqa: F401
    tables_intraday,  # noqa: F401
    tables_monitor,  # noqa: F401
    tables_monitor_runs,  # noqa: F401
)
from clearwatch.adapters.db.metadata import metadata

__all__ = ["metadata"]
