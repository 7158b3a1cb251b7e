"""Pure intake decisions: registry checks, file listing, accept/duplicate/reject."""

from __future__ import annotations

from datetime import date

from clearwatch.domain.monitor.intake import (
    AcceptedIdentity,
    Outcome,
    check_against_registry,
    check_file_listing,
    decide_submission,
    file_bytes_max,
)
from clearwatch.domain.monitor.manifest import Manifest, ManifestFile
from clearwatch.domain.monitor.registry import Institution, InstitutionKind, RegistrySnapshot
from clearwatch.domain.monitor.rejections import (
    ErrorCollector,
    PackageError,
    PackageRule,
)

SHA = "a" * 64
REGISTRY = RegistrySnapshot(
    version=1,
    institutions=(
        Institution("C001", InstitutionKind.CSDC, "中国结算", "CN-BJ"),
        Institution("B001", InstitutionKind.BROKER, "示例证券", "CN-SH"),
    ),
    special_accounts=(),
    holidays=(date(2026, 10, 1),),
)


def csdc(institution_id: str = "C001", day: date = date(2026, 11, 20)) -> Manifest:
    return Manifest(
        "csdc_daily",
        institution_id,
        day,
        1,
        "utf-8",
        (ManifestFile("settlement_reserve.csv", SHA, 1),),
    )


def codes(errors: tuple[PackageError, ...]) -> list[PackageRule]:
    return [error.code for error in errors]


def test_a_registered_institution_of_the_right_kind_on_a_business_day_passes() -> None:
    assert check_against_registry(csdc(), REGISTRY) == ()


def test_an_unregistered_institution_is_rejected_even_without_a_registry() -> None:
    assert codes(check_against_registry(csdc("X9"), REGISTRY)) == [
        PackageRule.INSTITUTION_MUST_BE_REGISTERED
    ]
    assert codes(check_against_registry(csdc(), None)) == [
        PackageRule.INSTITUTION_MUST_BE_REGISTERED
    ]


def test_a_broker_cannot_send_the_csdc_package() -> None:
    assert codes(check_against_registry(csdc("B001"), REGISTRY)) == [
        PackageRule.INSTITUTION_KIND_MUST_MATCH
    ]


def test_weekends_and_registered_holidays_are_not_business_days() -> None:
    for day in (date(2026, 11, 21), date(2026, 10, 1)):
        assert codes(check_against_registry(csdc(day=day), REGISTRY)) == [
            PackageRule.BUSINESS_DATE_MUST_BE_BUSINESS_DAY
        ]


def test_file_listing_names_unknown_unlisted_missing_stray_and_oversized_files() -> None:
    manifest = Manifest(
        "broker_daily",
        "B001",
        date(2026, 11, 20),
        1,
        "utf-8",
        (
            ManifestFile("client_funds.csv", SHA, 1),
            ManifestFile("special_accounts.csv", SHA, 1),
            ManifestFile("settlement_reserve.csv", SHA, 1),
            ManifestFile("notes.csv", SHA, 1),
        ),
    )
    present = {
        "manifest.json": 10,
        "client_funds.csv": file_bytes_max + 1,
        "settlement_reserve.csv": 5,
        "stray.txt": 1,
    }
    found = {(error.code, error.file) for error in check_file_listing(manifest, present)}
    assert found == {
        (PackageRule.FILE_MUST_BE_KNOWN, "notes.csv"),
        (PackageRule.FILE_MUST_NOT_EXCEED_SIZE, "client_funds.csv"),
        (PackageRule.FILE_MUST_EXIST, "special_accounts.csv"),
        (PackageRule.FILE_MUST_BE_LISTED, "fee_income.csv"),
        (PackageRule.FILE_MUST_BE_IN_MANIFEST, "stray.txt"),
    }


def test_the_first_package_is_accepted_and_identical_content_is_a_duplicate() -> None:
    assert decide_submission(sequence=1, content_sha256="x", accepted=[]).outcome is Outcome.ACCEPT
    earlier = AcceptedIdentity(7, 1, "x")
    decision = decide_submission(sequence=5, content_sha256="x", accepted=[earlier])
    assert decision.outcome is Outcome.DUPLICATE
    assert decision.duplicate_of == earlier


def test_a_higher_sequence_with_new_content_supersedes_the_latest() -> None:
    accepted = [AcceptedIdentity(7, 1, "x"), AcceptedIdentity(9, 3, "y")]
    decision = decide_submission(sequence=4, content_sha256="z", accepted=accepted)
    assert decision.outcome is Outcome.ACCEPT
    assert decision.supersedes == accepted[1]


def test_the_same_or_a_lower_sequence_with_new_content_is_rejected() -> None:
    accepted = [AcceptedIdentity(7, 1, "x"), AcceptedIdentity(9, 3, "y")]
    for sequence in (3, 2):
        decision = decide_submission(sequence=sequence, content_sha256="z", accepted=accepted)
        assert decision.outcome is Outcome.REJECT
        assert decision.error is not None
        assert decision.error.code is PackageRule.SEQUENCE_MUST_INCREASE_FOR_NEW_CONTENT


def test_the_error_collector_keeps_at_most_its_cap_and_says_it_dropped_some() -> None:
    collector = ErrorCollector(cap=2)
    for line in range(5):
        collector.add(PackageError(PackageRule.TEXT_MUST_NOT_BE_EMPTY, "x", "a.csv", line))
    assert len(collector) == 2
    assert collector.truncated


def test_errors_sort_by_precedence_then_place() -> None:
    collector = ErrorCollector()
    collector.add(PackageError(PackageRule.KEY_MUST_BE_UNIQUE, "k", "a.csv", 9))
    collector.add(PackageError(PackageRule.TEXT_MUST_NOT_BE_EMPTY, "t", "a.csv", 5))
    collector.add(PackageError(PackageRule.TEXT_MUST_NOT_BE_EMPTY, "t", "a.csv", 2))
    assert [(e.code, e.line) for e in collector.sorted()] == [
        (PackageRule.TEXT_MUST_NOT_BE_EMPTY, 2),
        (PackageRule.TEXT_MUST_NOT_BE_EMPTY, 5),
        (PackageRule.KEY_MUST_BE_UNIQUE, 9),
    ]
