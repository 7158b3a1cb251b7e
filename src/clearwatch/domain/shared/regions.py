"""The regulator's 36 bureaus (证监局) by region code: what a registry's institution, a special
account's filing and a bank's package name as the region, and where warnings are routed."""

from __future__ import annotations

# The 31 mainland provincial bureaus, by their ISO 3166-2:CN codes.
PROVINCIAL_REGIONS = tuple(
    f"CN-{code}"
    for code in (
        "AH BJ CQ FJ GD GS GX GZ HA HB HE HI HL HN JL JS JX LN NM NX QH SC SD SH SN SX TJ XJ "
        "XZ YN ZJ"
    ).split()
)
CITY_REGIONS = ("CITY-SZ", "CITY-DL", "CITY-NB", "CITY-XM", "CITY-QD")
REGIONS = PROVINCIAL_REGIONS + CITY_REGIONS  # the 36 bureaus
