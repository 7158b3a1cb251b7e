"""`mask_within`: a stored record's evidence as printed, every text naming the client masked."""

from __future__ import annotations

from clearwatch.domain.shared.masking import mask_within


def test_every_text_naming_the_client_is_masked_however_deep_and_the_rest_kept() -> None:
    evidence = {
        "alert": "withdrawal_burst/B001/2026-11-20/account:F100001",
        "breaches": [{"fund_account": "F100001", "excess": 120}, {"asset": "CASH"}],
        "approval": 7,
        "pair": ("F100001", "F1000012"),  # another account that starts the same stays whole
    }
    assert mask_within(evidence, ["F100001"]) == {
        "alert": "withdrawal_burst/B001/2026-11-20/account:***001",
        "breaches": [{"fund_account": "***001", "excess": 120}, {"asset": "CASH"}],
        "approval": 7,
        "pair": ["***001", "F1000012"],
    }
    assert evidence["breaches"][0]["fund_account"] == "F100001"  # the record is left whole
