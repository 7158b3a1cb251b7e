"""How a client identifier or an account number is shown where it is not the evidence itself.

The rule, everywhere: `***` and the value's last four characters, never more than half of
it (`FA20261120777` → `***0777`, `F002` → `***02`, `A1` → `***1`). The `***` stands for any
length, so the mask does not tell how long the value is. The last characters are kept
because that is how people tell accounts apart on a statement; the rest, with the client's
id, is what a leak would expose.

Masked: what is printed to a terminal or a log, and the messages of refusals (a rejected
batch line names its file and line, which is how its sender finds the row). Not masked: the
stored records themselves, and `--json` evidence asked for by a user the policy lets read it:
there the value is the evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
KEPT_CHARACTERS_MAX = 4


def mask(value: str) -> str:
    """`value` masked by the rule above; an empty value stays empty."""
    if not value:
        return value
    kept = min(KEPT_CHARACTERS_MAX, len(value) // 2)
    return MASK + (value[-kept:] if kept else "")


def mask_subject(subject: str) -> str:
    """A `kind:value` reference (`account:FA2026…`, `client:B001/FA…`) with its value masked
    when it names a client or an account; other subjects (a batch, a node) as they are."""
    kind, colon, value = subject.partition(":")
    if not colon or kind not in _IDENTIFYING_KINDS:
        return subject
    owner, slash, own = value.rpartition("/")
    return f"{kind}:{owner}{slash}{mask(own)}" if slash else f"{kind}:{mask(value)}"


def mask_in(text: str, identifiers: Iterable[str]) -> str:
    """`text` with every whole occurrence of each identifier masked (the longest first, so
    that one identifier inside another is not half-masked)."""
    found = sorted({i for i in identifiers if i}, key=len, reverse=True)
    if not found:
        return text
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(i) for i in found) + r")(?![\w-])")
    return pattern.sub(lambda match: mask(match.group(1)), text)


def mask_within(value: Any, identifiers: Iterable[str]) -> Any:
    """A JSON-like value (a stored record's evidence) with `mask_in` applied to every text in
    it, however deep; numbers and the value given are left as they are."""
    named = [i for i in identifiers if i]
    if isinstance(value, str):
        return mask_in(value, named)
    if isinstance(value, dict):
        return {key: mask_within(item, named) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_within(item, named) for item in value]
    return value


_IDENTIFYING_KINDS = frozenset({"account", "client", "receivable", "special", "counterparty"})
