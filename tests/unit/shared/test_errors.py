"""One root exception; every expected refusal is a `Refused` that names its rule first."""

from __future__ import annotations

import pytest

from clearwatch.domain.access.approvals import AccessRefused, AccessRejection
from clearwatch.domain.backoffice.batch_manifest import BatchError, BatchRejected, Rule
from clearwatch.domain.intraday.lease import IntradayRefused, IntradayRejection
from clearwatch.domain.monitor.thresholds import RulesError
from clearwatch.domain.shared.errors import ClearwatchError, ConfigurationError, Refused
from clearwatch.domain.shared.money import parse_fen
from clearwatch.services.backoffice.run_eod import EodFailed, EodStep
from clearwatch.services.monitor.run_day import RunDayError


def test_a_refusal_carries_its_rule_and_where_and_reads_rule_first() -> None:
    refusal = Refused("registry_must_be_loaded", "run `clearwatch monitor registry load` first")
    assert isinstance(refusal, ClearwatchError)
    assert (refusal.rule, refusal.where) == ("registry_must_be_loaded", refusal.where)
    assert str(refusal).startswith("registry_must_be_loaded: run")
    assert str(Refused("subject_must_not_be_empty")) == "subject_must_not_be_empty"


@pytest.mark.parametrize(
    ("refusal", "rule"),
    [
        (AccessRefused(AccessRejection.ADMIN_MUST_NOT_APPROVE, "chen"), "admin_must_not_approve"),
        (IntradayRefused(IntradayRejection.LEASE_MUST_BE_HELD, "host-a"), "lease_must_be_held"),
        (RunDayError("registry_must_be_loaded", "load it"), "registry_must_be_loaded"),
        (
            BatchRejected(
                (
                    BatchError(rule=Rule.FILE_HASH_MUST_MATCH, file="clients.csv"),
                    BatchError(rule=Rule.ROW_COUNT_MUST_MATCH, file="opening.csv"),
                )
            ),
            "file_hash_must_match",
        ),
        (
            EodFailed(EodStep.IMPORT, "name the broker", rule="inbox_must_hold_one"),
            "inbox_must_hold_one",
        ),
    ],
)
def test_every_expected_refusal_is_a_refused_naming_its_rule(refusal: Refused, rule: str) -> None:
    assert isinstance(refusal, Refused)
    assert refusal.rule == rule
    assert str(refusal).startswith(rule)


def test_a_refused_batch_keeps_every_rejection_in_its_message() -> None:
    rejected = BatchRejected(
        (
            BatchError(rule=Rule.FILE_HASH_MUST_MATCH, file="clients.csv"),
            BatchError(rule=Rule.ROW_COUNT_MUST_MATCH, file="opening.csv"),
        )
    )
    assert "row_count_must_match" in str(rejected) and len(rejected.rejections) == 2


def test_a_failed_eod_step_takes_the_rule_of_the_batch_that_stopped_it() -> None:
    first = BatchError(rule=Rule.KEY_MUST_BE_UNIQUE, file="executions.csv", line=3)
    failed = EodFailed(EodStep.IMPORT, "batch T1 refused", (first,))
    assert failed.rule == "key_must_be_unique" and failed.where == "import: batch T1 refused"


def test_a_bad_amount_is_a_refusal_and_still_a_value_error() -> None:
    with pytest.raises(Refused) as caught:
        parse_fen("1")
    assert isinstance(caught.value, ValueError)
    assert caught.value.rule == "amount_must_have_digits_dot_two_decimals"


def test_a_bad_rules_document_is_a_configuration_error() -> None:
    assert issubclass(RulesError, ConfigurationError) and issubclass(RulesError, ValueError)
    assert issubclass(ConfigurationError, ClearwatchError)
