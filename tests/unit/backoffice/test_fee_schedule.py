"""One fee schedule, read by its adapter and versioned by the sha256 of the file's bytes."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from clearwatch.adapters.fee_schedule_file import (
    FEE_SCHEDULE_FILE,
    FEES_PACKAGE,
    load_fee_schedule,
)
from clearwatch.domain.backoffice.fees import FeeScheduleError, execution_fees
from clearwatch.domain.intraday.fee_estimates import fee_rates, order_amount_fen
from clearwatch.domain.shared.kinds import Side

PACKAGED = resources.files(FEES_PACKAGE).joinpath(FEE_SCHEDULE_FILE).read_bytes()


def _schedule_file(tmp_path: Path, old: str, new: str) -> Path:
    """The packaged schedule with one line changed."""
    text = PACKAGED.decode("utf-8")
    assert old in text
    path = tmp_path / "fees.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_the_schedule_is_versioned_by_the_sha256_of_its_bytes_and_loads_the_same_twice() -> None:
    schedule = load_fee_schedule()
    assert schedule.content_sha256 == hashlib.sha256(PACKAGED).hexdigest()
    assert schedule == load_fee_schedule()
    assert schedule.version_ref == f"fees@{schedule.content_sha256[:12]}"


def test_an_edited_schedule_has_another_version_even_when_only_a_comment_changed(
    tmp_path: Path,
) -> None:
    edited = load_fee_schedule(_schedule_file(tmp_path, "# 佣金", "# 佣金 (edited)"))
    packaged = load_fee_schedule()
    assert edited.content_sha256 != packaged.content_sha256
    assert edited.commission_rate_default == packaged.commission_rate_default


def test_the_transfer_approval_threshold_lives_in_the_schedule() -> None:
    assert load_fee_schedule().transfer_approval_threshold_fen == 1_000_000_00


def test_a_schedule_without_a_section_is_refused_with_a_named_rule(tmp_path: Path) -> None:
    path = _schedule_file(tmp_path, "[transfers]", "[transfers_renamed]")
    with pytest.raises(FeeScheduleError, match="fee_schedule_must_be_complete"):
        load_fee_schedule(path)


def test_intraday_estimates_follow_the_schedule_s_fund_exemptions_not_a_built_in_list(
    tmp_path: Path,
) -> None:
    """Shanghai's exempt prefix moved from `5` to `60`: the estimate follows the file."""
    changed = load_fee_schedule(_schedule_file(tmp_path, 'SH = ["5"]', 'SH = ["60"]'))
    rates = fee_rates(changed)
    amount = order_amount_fen(1000, 10_000)  # 1,000 shares at 10.000
    for security, exempt in (("SH.600000", True), ("SH.510300", False), ("SZ.159915", True)):
        market, _, code = security.partition(".")
        books = execution_fees(
            schedule=changed,
            market=market,
            security=code,
            side=Side.SELL,
            quantity=1000,
            price=Decimal("10.000"),
        )
        assert rates.is_fund(security) is exempt
        assert (books.stamp_duty_fen == 0) is exempt
        assert rates.fees_fen(sell=True, security=security, amount_fen=amount) == books.fees_fen
    assert rates.version_ref == changed.version_ref
