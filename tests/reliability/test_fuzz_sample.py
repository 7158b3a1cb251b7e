"""A sample of the fuzz harness in every test run (`python -m reliability.fuzz` runs 100,000).

Each case is a real submit or import on a real store, which costs tens of milliseconds, a
valid batch a few hundred: the sample asks for 2,000 cases but starts no new chunk after
`SECONDS_MAX`, so that it stays near a minute on a busy machine.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from reliability.fuzz_inputs import Bundle
from reliability.fuzz_mutations import Mutation

from clearwatch.domain.monitor.receipt import Receipt
from clearwatch.services.monitor.submit_package import submit_package
from reliability import fuzz

CASES = 2_000
CHUNK = 150
SECONDS_MAX = 48.0
SEED = 17


def test_corrupted_packages_and_batches_end_as_receipts_or_named_refusals(tmp_path: Path) -> None:
    summary = fuzz.run(
        cases=CASES, seed_value=SEED, work=tmp_path, chunk=CHUNK, seconds_max=SECONDS_MAX
    )
    assert summary["failure"] is None
    assert summary["cases"] >= CHUNK
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
