"""Values the API's schemas share: business dates, listing pages, reasons, ids.

Each states its limits in the OpenAPI, so that a client (or a generated test) knows them
before it asks: a business date outside the monitor's years is refused by the schema (422), not
deep in a calendar.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator, Field, WithJsonSchema

# Business dates the monitor and the books take; the calendar's arithmetic is safe within.
business_date_first = date(1990, 1, 1)
business_date_last = date(2099, 12, 31)
listing_rows_max = 1000  # rows one listing request returns at most (`limit`)
reason_length_max = 2000
user_id_length_max = 64


def _in_business_years(day: date) -> date:
    if not business_date_first <= day <= business_date_last:
        raise ValueError(f"a business date lies in {business_date_first}..{business_date_last}")
    return day


BusinessDate = Annotated[
    date,
    AfterValidator(_in_business_years),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": r"^(199[0-9]|20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
            "description": f"YYYY-MM-DD, {business_date_first} to {business_date_last}.",
        }
    ),
]
Limit = Annotated[int, Query(ge=1, le=listing_rows_max)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
Reason = Annotated[str, Field(min_length=1, max_length=reason_length_max)]
UserId = Annotated[str, Field(min_length=1, max_length=user_id_length_max)]
