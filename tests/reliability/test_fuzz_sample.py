"""A sample of the fuzz harness in every test run (`python -m reliability.fuzz` runs 100,000).

Each case is a real submit or import on a real store, about 33 ms of CPU on average here (a
valid batch applied a few hundred): the sample runs 2,000 cases, all of them, about a minute
of CPU. They run in chunks of `CHUNK` (Hypothesis seeded per chunk), each on a copy of one
set-up store, kept in memory (`fuzz.scratch_root`). No time bound: each case has the
harness's own stuck-guard (`fuzz.CASE_SECONDS`), past which it fails as hung.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from reliability.fuzz_inputs import Bundle, signed_head
from reliability.fuzz_mutations import HEAD_STYLES, Mutation

from clearwatch.domain.monitor.receipt import Receipt
from clearwatch.services.monitor.submit_package import submit_package
from reliability import fuzz

CASES = 2_000
# Hypothesis's first examples of a run are its plainest: short chunks give many starts, and
# apply about half as many valid batches (a few hundred ms each) as one 2,000-case chunk.
CHUNK = 150
SEED = 17


def test_corrupted_packages_and_batches_end_as_receipts_or_named_refusals(tmp_path: Path) -> None:
    summary = fuzz.run(cases=CASES, seed_value=SEED, work=tmp_path, chunk=CHUNK)
    assert summary["failure"] is None
    assert summary["cases"] == CASES
    assert summary["unhandled"] == 0
    # Both sides were reached, and with both kinds of outcome.
    outcomes = set(summary["outcomes"])
    assert {"package rejected", "package accepted", "batch refused", "batch applied"} <= outcomes


def _csdc_package() -> Bundle:
    manifest = {
        "format": "clearwatch.package/1",
        "kind": "csdc_daily",
        "institution_id": "C001",
        "business_date": "{date}",
        "sequence": 1,
        "encoding": "utf-8",
        "files": [],
    }
    reserve = b"broker_id,market,balance\nB001,SH,1.00\n"
    return Bundle("package", "csdc_daily", manifest, {"settlement_reserve.csv": reserve})


def test_a_hex_amount_is_rejected_and_a_rejection_without_its_line_fails_the_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = fuzz.FuzzStore(tmp_path / "store" / "home")
    try:
        clean = fuzz.Case(_csdc_package(), [], "none")
        assert fuzz.check_case(store, clean, 1, tmp_path) == "accepted"
        hex_amount = fuzz.Case(_csdc_package(), [Mutation("cell", (0, 1, 2, "0x10.00"))], "all")
        outcome = fuzz.check_case(store, hex_amount, 2, tmp_path)
        assert outcome == "rejected:amount_must_have_digits_dot_two_decimals"
        # The same rejection without its line is what the harness exists to catch.
        real = submit_package

        def unlocated(**kwargs: Any) -> Receipt:
            receipt = real(**kwargs)
            return replace(receipt, errors=tuple(replace(e, line=None) for e in receipt.errors))

        monkeypatch.setattr(fuzz, "submit_package", unlocated)
        with pytest.raises(fuzz.CaseFailed, match="not located"):
            fuzz.check_case(store, hex_amount, 3, tmp_path)
    finally:
        store.close()


def _broker_daily_with_head() -> Bundle:
    """A valid broker_daily package of B001 carrying its day's signed audit head."""
    bundle = copy.deepcopy(_first_generated_package_with_a_head())
    bundle.manifest["institution_id"] = "B001"
    bundle.manifest["audit_head"] = signed_head("B001", 7)
    return bundle


@functools.cache
def _first_generated_package_with_a_head() -> Bundle:
    """Searched for once per process: the search is derandomized, so every search finds this
    same package, and the callers (one per corrupted head) each change a deep copy of it."""
    from hypothesis import given, settings
    from reliability.fuzz_inputs import valid_packages

    found: list[Bundle] = []

    @settings(max_examples=200, database=None, derandomize=True)
    @given(valid_packages())
    def pick(bundle: Bundle) -> None:
        if not found and "audit_head" in bundle.manifest:
            found.append(bundle)

    pick()
    return found[0]


def test_a_package_carrying_its_signed_head_is_accepted_and_each_corrupted_head_named(
    tmp_path: Path,
) -> None:
    store = fuzz.FuzzStore(tmp_path / "store" / "home")
    try:
        clean = fuzz.Case(_broker_daily_with_head(), [], "none")
        assert fuzz.check_case(store, clean, 1, tmp_path) == "accepted"  # and pins B001's key
        outcomes = {
            how: fuzz.check_case(
                store, fuzz.Case(_broker_daily_with_head(), [Mutation("head", (how,))], "none"),
                number, tmp_path,
            )
            for number, how in enumerate(HEAD_STYLES, start=2)
        }  # fmt: skip
    finally:
        store.close()
    assert outcomes == {
        "add": "accepted",  # another valid head of the same key (on a bank's: an unknown field)
        "other_key": "rejected:audit_head_key_must_be_pinned_key",
        "signature": "rejected:audit_head_signature_must_verify",
        "seq": "rejected:manifest_audit_head_must_be_valid",
        "tree_head": "rejected:manifest_audit_head_must_be_valid",
        "frontier": "rejected:manifest_audit_head_must_be_valid",
        "not_object": "rejected:manifest_audit_head_must_be_valid",
    }


def test_an_honest_head_refused_after_another_key_was_pinned_first_is_not_a_failure(
    tmp_path: Path,
) -> None:
    """Trust on first use: a head signed by another key, first in the store, pins that key;
    the honest head after it is refused by name, which is right, not a failure of the case."""
    store = fuzz.FuzzStore(tmp_path / "store" / "home")
    try:
        other = fuzz.Case(_broker_daily_with_head(), [Mutation("head", ("other_key",))], "none")
        first = fuzz.check_case(store, other, 1, tmp_path)
        honest = fuzz.check_case(
            store, fuzz.Case(_broker_daily_with_head(), [], "none"), 2, tmp_path
        )
    finally:
        store.close()
    assert (first, honest) == ("accepted", "rejected:key_pinned_by_an_earlier_case")
