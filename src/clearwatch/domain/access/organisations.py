"""Organisations (spec platform §1): every user belongs to exactly one, and acts only in it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from clearwatch.domain.shared.errors import Refused

SIPF_ID = "SIPF"
CSRC_ID = "CSRC"
BACK_OFFICE_PREFIX = "BO:"

# Region codes of the bureaus as routing spells them (`CN-SH`, `CITY-SZ`); registry ids of
# institutions are plain codes (`B001`, `K001`, `CSDC`), so the two never collide.
_REGION_PATTERN = re.compile(r"(CN|CITY)-[A-Z]{2,16}")
_INSTITUTION_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_]{0,31}")


class OrganisationKind(StrEnum):
    """The kinds of organisation of the spec's table; each has its own roles."""

    SIPF = "sipf"  # the monitoring centre (投保基金)
    BUREAU = "bureau"  # a regional bureau (证监局), by region code
    CSRC = "csrc"  # the national regulator (证监会)
    INSTITUTION = "institution"  # a broker, bank or CSDC, by registry id
    BACK_OFFICE = "back_office"  # one broker's back office, `BO:<broker_id>`


@dataclass(frozen=True)
class Organisation:
    """An organisation by kind and code; `ident` is how it is written and stored."""

    kind: OrganisationKind
    code: str

    @property
    def ident(self) -> str:
        if self.kind is OrganisationKind.BACK_OFFICE:
            return f"{BACK_OFFICE_PREFIX}{self.code}"
        return self.code

    def __str__(self) -> str:
        return self.ident


SIPF = Organisation(OrganisationKind.SIPF, SIPF_ID)
CSRC = Organisation(OrganisationKind.CSRC, CSRC_ID)


def back_office(broker_id: str) -> Organisation:
    return parse_organisation(f"{BACK_OFFICE_PREFIX}{broker_id}")


def parse_organisation(text: str) -> Organisation:
    """An organisation from its written id; anything else is refused by name."""
    ident = text.strip()
    if ident == SIPF_ID:
        return SIPF
    if ident == CSRC_ID:
        return CSRC
    if ident.startswith(BACK_OFFICE_PREFIX):
        broker_id = ident.removeprefix(BACK_OFFICE_PREFIX)
        if _INSTITUTION_PATTERN.fullmatch(broker_id):
            return Organisation(OrganisationKind.BACK_OFFICE, broker_id)
    elif _REGION_PATTERN.fullmatch(ident):
        return Organisation(OrganisationKind.BUREAU, ident)
    elif _INSTITUTION_PATTERN.fullmatch(ident):
        return Organisation(OrganisationKind.INSTITUTION, ident)
    raise Refused(
        "organisation_must_be_known",
        f"{text!r} (SIPF, CSRC, a region code like CN-SH, a registry id like B001, BO:<broker>)",
    )
