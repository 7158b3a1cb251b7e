"""Every table module, imported so the shared MetaData knows the whole schema."""

from clearwatch.adapters.db.access import tables as access_tables  # noqa: F401
from clearwatch.adapters.db.access import web_session_tables  # noqa: F401
from clearwatch.adapters.db.audit import tables as audit_tables  # noqa: F401
from clearwatch.adapters.db.backoffice import tables as backoffice_tables  # noqa: F401
from clearwatch.adapters.db.generations import store_generations  # noqa: F401
from clearwatch.adapters.db.intraday import tables as intraday_tables  # noqa: F401
from clearwatch.adapters.db.metadata import metadata
from clearwatch.adapters.db.monitor import (  # noqa: F401
    cases_tables,
    filings_tables,
    intake_tables,
    runs_tables,
)
from clearwatch.adapters.db.watch import tables as watch_tables  # noqa: F401

__all__ = ["metadata"]
