"""A request as listed without the evidence: the clients it names masked, nothing else."""

from __future__ import annotations

from datetime import date

from clearwatch.domain.access.approval_masking import masked_request
from clearwatch.domain.backoffice.approval_content import account_subject, adjustment_content
from clearwatch.domain.intraday.halt_lifts import halt_lift_subject
from clearwatch.domain.watch.flow_halts import Flow, flow_halt_content, flow_subject


def test_an_adjustment_names_its_client_masked_in_subject_and_payload() -> None:
    payload = adjustment_content(fund_account="FA20261120777", amount_fen=-1200, reason="fee")
    subject, shown = masked_request(account_subject("B001", "FA20261120777"), payload)
    assert subject == "account:B001:***0777"
    assert shown == {**payload, "fund_account": "***0777"}
    assert payload["fund_account"] == "FA20261120777"  # the request itself is left whole


def test_a_halt_lift_and_its_alert_key_name_the_client_masked() -> None:
    subject = halt_lift_subject("B001", "F100001", date(2026, 11, 20))
    payload = {"fund_account": "F100001", "alert": "burst/B001/2026-11-20/account:F100001"}
    shown_subject, shown = masked_request(subject, payload)
    assert shown_subject == "halt-lift:B001:***001:2026-11-20"
    assert shown["alert"] == "burst/B001/2026-11-20/account:***001"


def test_a_flow_halt_masks_both_ends_but_not_any_counterparty() -> None:
    to_one = Flow("B001", "SA-0001", "SA-9999")
    subject, _ = masked_request(flow_subject(to_one), flow_halt_content(to_one))
    assert subject == "watch-flow-halt:B001:***001:***999"
    anywhere = Flow("B001", "SA-0001", "*")
    subject, _ = masked_request(flow_subject(anywhere), flow_halt_content(anywhere))
    assert subject == "watch-flow-halt:B001:***001:*"


def test_a_reversal_shows_its_postings_ledger_accounts_masked_and_a_batch_as_it_is() -> None:
    payload = {
        "reverses": "e-1",
        "postings": [["client:F100001", "CNY", -500], ["cash", "CNY", 500]],
    }
    _, shown = masked_request("reversal:e-1", payload)
    assert shown["postings"] == [["client:***001", "CNY", -500], ["cash", "CNY", 500]]
    batch = "batch:B001:correction:2026-11-20:S2"
    assert masked_request(batch, {"corrects_batch_id": "S1"}) == (
        batch,
        {"corrects_batch_id": "S1"},
    )


def test_a_breaks_resolution_masks_a_clients_subject_but_not_a_markets() -> None:
    client = {"break_id": 1, "check": "client_vs_bank", "subject": "F100002", "reason": "x"}
    assert masked_request("break:B001:1", client)[1]["subject"] == "***002"
    market = {"break_id": 2, "check": "reserve_vs_csdc", "subject": "SH", "reason": "x"}
    assert masked_request("break:B001:2", market)[1] == market
