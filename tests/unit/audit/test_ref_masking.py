"""An audit record's ref as `audit show` lists it: the client or account it names masked,
every other ref whole; and who may read them whole (`audit.evidence`)."""

from __future__ import annotations

import pytest

from clearwatch.domain.access.organisations import parse_organisation
from clearwatch.domain.access.policy import Action, Actor, Allowed, Denied, Resource, decide
from clearwatch.domain.access.roles import Role
from clearwatch.domain.audit.ref_masking import masked_object_ref


@pytest.mark.parametrize(
    ("ref", "shown"),
    [
        ("client:B001/FA20261120777/2026-11-20", "client:B001/***0777/2026-11-20"),
        ("flow:B001/F100001/K001", "flow:B001/***001/***01"),
        ("flow:B001/F100001/*", "flow:B001/***001/*"),
        ("break:B001:2026-11-20:client_vs_bank:F002", "break:B001:2026-11-20:client_vs_bank:***02"),
        (
            "break:B001:2026-11-20:client_vs_bank:*more*",
            "break:B001:2026-11-20:client_vs_bank:*more*",
        ),
        ("break:B001:2026-11-20:reserve_vs_csdc:SH", "break:B001:2026-11-20:reserve_vs_csdc:SH"),
        ("account:B001:F100001", "account:B001:***001"),
        ("account:F100001", "account:***001"),
        (
            "alert:withdrawal_burst/B001/2026-11-20/account:F100001",
            "alert:withdrawal_burst/B001/2026-11-20/account:***001",
        ),
        (  # a suffix may name an event's account: masked with the subject
            "alert:overdraft/B001/2026-11-20/account:F100001/B001/2026-11-20/entry/E1/F100001",
            "alert:overdraft/B001/2026-11-20/account:***0001",
        ),
        ("alert:late_batch/B001/2026-11-20/batch:B001-T1", None),
        ("break:B001:17", None),  # a break by its number
        ("user:bo-b001-operator", None),
        ("approval:12", None),
        ("action:broker.evidence", None),
        ("store", None),
    ],
)
def test_a_ref_naming_a_client_is_masked_and_any_other_is_whole(
    ref: str, shown: str | None
) -> None:
    assert masked_object_ref(ref) == (ref if shown is None else shown)


def test_only_the_auditor_reads_the_audit_log_s_refs_whole_and_only_their_own() -> None:
    own = Resource(organisation="BO:B001", institution="B001")
    for role, allowed in [(Role.AUDITOR, True), (Role.ADMIN, False), (Role.OPERATOR, False)]:
        actor = Actor("u", parse_organisation("BO:B001"), frozenset({role}))
        verdict = decide(actor, Action.AUDIT_EVIDENCE, own)
        assert isinstance(verdict, Allowed if allowed else Denied), role
    auditor = Actor("u", parse_organisation("BO:B002"), frozenset({Role.AUDITOR}))
    assert isinstance(decide(auditor, Action.AUDIT_EVIDENCE, own), Denied)
