"""The one masking rule for client identifiers and account numbers shown outside evidence."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clearwatch.domain.shared.masking import mask, mask_in, mask_subject


def test_the_last_four_characters_are_kept_never_more_than_half() -> None:
    assert mask("FA20261120777") == "***0777"
    assert mask("330102199001017777") == "***7777"
    assert mask("F002") == "***02"
    assert mask("A1") == "***1"
    assert mask("Z") == "***"
    assert mask("") == ""


@given(st.text(min_size=1, max_size=40))
def test_a_mask_hides_at_least_half_and_never_the_length(value: str) -> None:
    shown = mask(value)
    kept = shown.removeprefix("***")
    assert shown.startswith("***") and value.endswith(kept)
    assert len(kept) <= min(4, len(value) // 2)


def test_subjects_naming_a_client_or_account_are_masked_others_not() -> None:
    assert mask_subject("account:FA20261120777") == "account:***0777"
    assert mask_subject("client:B001/FA20261120777") == "client:B001/***0777"
    assert mask_subject("batch:B001:T1") == "batch:B001:T1"
    assert mask_subject("reserve:RESERVE.SH") == "reserve:RESERVE.SH"
    assert mask_subject("no kind") == "no kind"


def test_identifiers_in_text_are_masked_whole_and_only_whole() -> None:
    text = "100.00 left FA2026112077 for 6222020200112233 (FA2026112077X is another)"
    shown = mask_in(text, ["FA2026112077", "6222020200112233"])
    assert shown == "100.00 left ***2077 for ***2233 (FA2026112077X is another)"
    assert mask_in("nothing to hide", []) == "nothing to hide"
