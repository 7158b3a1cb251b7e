"""Languages of the pages: Babel's message catalogues, numbers, amounts and times.

Chinese is the default and English the switch. The catalogues are `.po` files inside the
package, read once at start with Babel's own reader (`babel.messages.pofile`): no compile step
and no binary `.mo` beside the sources, so what is reviewed is what runs; they are a few
kilobytes. English labels are the message ids themselves, except where the English catalogue
says otherwise (domain terms shown in both languages, as analysts expect: `major (重大预警)`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.money import MoneyFormatError, parse_fen

LOCALES_DIR = Path(__file__).parent / "locales"
AMOUNT_PATTERN = "#,##0.00"  # thousands separators, always two decimals
PERCENT_PATTERN = "#,##0.0000"
TIME_PATTERN = "yyyy-MM-dd HH:mm"


class Language(StrEnum):
    """The pages' languages, as the `lang` query parameter and cookie spell them."""

    ZH = "zh"
    EN = "en"

    @property
    def locale(self) -> Locale:
        return Locale.parse("zh_Hans_CN" if self is Language.ZH else "en_US")

    @property
    def html_lang(self) -> str:
        return "zh-CN" if self is Language.ZH else "en"

    @property
    def other(self) -> Language:
        return Language.EN if self is Language.ZH else Language.ZH


DEFAULT_LANGUAGE = Language.ZH


def language_of(text: str | None) -> Language | None:
    try:
        return Language(text) if text else None
    except ValueError:
        return None


def read_catalogue(path: Path) -> dict[str, str]:
    """A `.po` file as msgid → msgstr, untranslated entries left out (they fall back)."""
    with path.open("rb") as source:
        catalogue = read_po(source)
    return {
        str(message.id): str(message.string)
        for message in catalogue
        if message.id and isinstance(message.id, str) and message.string
    }


def load_catalogues(root: Path = LOCALES_DIR) -> dict[Language, dict[str, str]]:
    """Every language's catalogue, read once when the pages are built.

    A language's catalogue is every `.po` file in its folder, merged in name order: each
    area of the pages (admin, back office, …) keeps its labels in a file of its own, so
    that one area's labels can be reviewed beside its pages.
    """
    folders = {Language.ZH: "zh_CN", Language.EN: "en"}
    catalogues: dict[Language, dict[str, str]] = {}
    for language, folder in folders.items():
        merged: dict[str, str] = {}
        for path in sorted((root / folder / "LC_MESSAGES").glob("*.po")):
            merged.update(read_catalogue(path))
        catalogues[language] = merged
    return catalogues


@dataclass(frozen=True)
class Speaker:
    """Labels, amounts and times in one language, for one page."""

    language: Language
    messages: Mapping[str, str]

    def gettext(self, message: str) -> str:
        return self.messages.get(message, message)

    def amount(self, fen: int) -> str:
        """Integer fen as yuan with thousands separators and two decimals, exactly."""
        return format_decimal(Decimal(fen).scaleb(-2), AMOUNT_PATTERN, locale=self.language.locale)

    def percent(self, ratio: Decimal | None) -> str:
        """A ratio as a percentage with four decimals (a six-decimal ratio, exactly)."""
        if ratio is None:
            return "–"
        shown = format_decimal(ratio * 100, PERCENT_PATTERN, locale=self.language.locale)
        return f"{shown} %"

    def number(self, value: int) -> str:
        return format_decimal(value, "#,##0", locale=self.language.locale)

    def figure(self, text: str) -> str:
        """A finding's figure as its document spells it: yuan (`1950000.00`) shown as an
        amount, a count of accounts (F9's `3`) as a number; anything else as it is."""
        if text.isascii() and text.isdigit():
            return self.number(int(text))
        try:
            return self.amount(parse_fen(text))
        except MoneyFormatError:
            return text

    def time(self, moment: datetime | None) -> str:
        """A moment in Asia/Shanghai, named as such."""
        if moment is None:
            return "–"
        shown = format_datetime(moment, TIME_PATTERN, tzinfo=SHANGHAI, locale=self.language.locale)
        return f"{shown} {self.gettext('Beijing time')}"
