"""Whose books an approval request's subject names: the back office asked for its policy."""

from __future__ import annotations

import pytest

from clearwatch.domain.access.approval_subjects import books_of_subject


@pytest.mark.parametrize(
    ("subject", "books"),
    [
        ("batch:B001:trading:2026-11-20:T-1", "BO:B001"),
        ("batch:B001/1", "BO:B001"),  # a batch's ref
        ("adjustment:B002:ADJ-X", "BO:B002"),
        ("reversal:adjustment:B002:ADJ-X", "BO:B002"),  # by the entry it reverses
        ("watch-halt:B003:F1:2026-11-20", "BO:B003"),
        ("watch-flow-halt:B003:F1:*", "BO:B003"),
        ("halt-lift:B001:F2:2026-11-20", "BO:B001"),
        ("watch-flow-lift:7", None),  # names a halt by id: its use case asks the halt's broker
        ("institution:B001", None),  # SIPF's witness key, no broker's books
        ("emergency_grant:mia:checker", None),
        ("adjustment:", None),
    ],
)
def test_a_subject_names_the_back_office_whose_books_it_is_about(
    subject: str, books: str | None
) -> None:
    assert books_of_subject(subject) == books
