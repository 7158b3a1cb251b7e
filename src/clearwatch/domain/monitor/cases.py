"""Verification cases (核实说明, spec platform §4): statuses, the one transition, explanations.

A case is opened for each finding with an amount, once per (institution, D, finding code). Its
status is never stored in place: every move is an event of the case's timeline, and the status
is the one the last move left. `transition` holds every move the spec allows, and no other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from clearwatch.domain.monitor.criteria import Criterion
from clearwatch.domain.monitor.findings import FindingCode
from clearwatch.domain.shared.calendar import BusinessCalendar, explanation_deadline_at
from clearwatch.domain.shared.errors import Refused


class CaseStatus(StrEnum):
    OPEN = "open"
    EXPLAINED = "explained"
    OVERDUE = "overdue"  # no explanation by the deadline; one may still come
    ESCALATED = "escalated"  # waiting for a second reviewer
    CLOSED_ACCEPTED = "closed_accepted"
    CLOSED_CARELESS = "closed_careless"
    CLOSED_FALSIFIED = "closed_falsified"
    CLOSED_ESCALATED = "closed_escalated"


class CaseMove(StrEnum):
    """Every event of a case's timeline; `open` is the first, the others are spec §4's moves."""

    OPEN = "open"
    EXPLAIN = "explain"
    ACCEPT = "accept"
    CARELESS = "careless"
    FALSIFIED = "falsified"
    ESCALATE = "escalate"
    APPROVE = "approve"  # the second reviewer approves an escalation
    DEADLINE = "deadline"  # 17:00 of the second business day after D passed unexplained


class ExplanationCategory(StrEnum):
    TIMING_DIFFERENCE = "timing_difference"
    DATA_ERROR = "data_error"
    OPERATIONAL_ERROR = "operational_error"
    MISCONDUCT = "misconduct"
    OTHER = "other"


# The review decisions an analyst or reviewer takes on an explained case.
DECISIONS = frozenset({CaseMove.ACCEPT, CaseMove.CARELESS, CaseMove.FALSIFIED, CaseMove.ESCALATE})
# What an escalation may designate: another major anomaly, another violation, a transfer error.
ESCALATION_CRITERIA = frozenset({Criterion.M4, Criterion.G7, Criterion.A7})

# Limits of an explanation, named.
explanation_chars_max = 20_000
responsible_party_chars_max = 200
attachments_per_explanation_max = 10
attachment_bytes_max = 20 * 1024 * 1024
attachment_name_chars_max = 120
reason_chars_max = 2_000


class CaseRule(StrEnum):
    """Why a request on a case was refused, each a rule that was broken."""

    CASE_MUST_EXIST = "case_must_exist"
    MOVE_MUST_BE_ALLOWED = "case_move_must_be_allowed_from_its_status"
    CASE_MUST_NOT_HAVE_CHANGED = "case_must_not_have_changed_meanwhile"
    DECISION_MUST_BE_A_REVIEW = "decision_must_be_accept_careless_falsified_or_escalate"
    ESCALATION_MUST_NAME_M4_G7_OR_A7 = "escalation_must_name_m4_g7_or_a7"
    ONLY_ESCALATION_NAMES_A_CRITERION = "only_an_escalation_names_a_criterion"
    SECOND_REVIEWER_MUST_DIFFER = "second_reviewer_must_not_be_who_escalated"
    CATEGORY_MUST_BE_KNOWN = "explanation_category_must_be_known"
    TEXT_MUST_BE_GIVEN = "explanation_text_must_be_given"
    TEXT_MUST_NOT_BE_TOO_LONG = "explanation_text_must_not_be_too_long"
    RESPONSIBLE_PARTY_MUST_BE_GIVEN = "responsible_party_must_be_given"
    ATTACHMENTS_MUST_NOT_BE_TOO_MANY = "attachments_must_not_be_too_many"
    ATTACHMENT_MUST_NOT_BE_TOO_LARGE = "attachment_must_not_be_too_large"
    ATTACHMENT_NAME_MUST_BE_PLAIN = "attachment_name_must_be_a_plain_file_name"
    REASON_MUST_BE_GIVEN = "reason_must_be_given"


def transition(status: CaseStatus | None, move: CaseMove) -> CaseStatus:
    """The status `move` leads to from `status` (None: the case does not exist yet).

    The only moves there are (spec platform §4); anything else is refused by name.
    """
    match (status, move):
        case (None, CaseMove.OPEN):
            return CaseStatus.OPEN
        case (CaseStatus.OPEN | CaseStatus.OVERDUE, CaseMove.EXPLAIN):
            return CaseStatus.EXPLAINED
        case (CaseStatus.OPEN, CaseMove.DEADLINE):
            return CaseStatus.OVERDUE
        case (CaseStatus.EXPLAINED, CaseMove.ACCEPT):
            return CaseStatus.CLOSED_ACCEPTED
        case (CaseStatus.EXPLAINED, CaseMove.CARELESS):
            return CaseStatus.CLOSED_CARELESS
        case (CaseStatus.EXPLAINED, CaseMove.FALSIFIED):
            return CaseStatus.CLOSED_FALSIFIED
        case (CaseStatus.EXPLAINED, CaseMove.ESCALATE):
            return CaseStatus.ESCALATED
        case (CaseStatus.ESCALATED, CaseMove.APPROVE):
            return CaseStatus.CLOSED_ESCALATED
    raise Refused(CaseRule.MOVE_MUST_BE_ALLOWED, f"{move} from {status or 'nothing'}")


@dataclass(frozen=True)
class Attachment:
    """A file attached to an explanation, stored content-addressed by its sha256."""

    name: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class Explanation:
    """The institution's 核实说明 for a case."""

    category: ExplanationCategory
    text: str
    responsible_party: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class CaseEvent:
    """One move on a case's timeline: who, when, why, and the status it left."""

    seq: int
    move: CaseMove
    status: CaseStatus
    actor: str
    at: datetime
    reason: str
    criterion: Criterion | None = None
    explanation: Explanation | None = None


@dataclass(frozen=True)
class Case:
    """A finding an institution must explain, with its deadline and its status now."""

    case_id: int
    institution_id: str
    business_date: date
    finding_code: FindingCode
    amount_fen: int
    region: str | None  # a bank's branch region when the finding is in one region only
    bureaus: tuple[str, ...]  # the bureaus the finding's warnings go to: who may read it
    opened_at: datetime
    opened_in_version: int
    deadline_at: datetime
    status: CaseStatus
    last_seq: int  # the seq of the last event: the next move is `last_seq + 1`

    @property
    def reference(self) -> str:
        return f"case:{self.case_id}"


def case_deadline_at(calendar: BusinessCalendar, business_date: date) -> datetime:
    """17:00 Asia/Shanghai of the second business day after D, from the registry's calendar."""
    return explanation_deadline_at(calendar, business_date)


def explanation_of(
    *, category: str, text: str, responsible_party: str, attachments: tuple[Attachment, ...] = ()
) -> Explanation:
    """A checked explanation, or the first rule it breaks."""
    try:
        kind = ExplanationCategory(category.strip())
    except ValueError as error:
        names = ", ".join(ExplanationCategory)
        raise Refused(CaseRule.CATEGORY_MUST_BE_KNOWN, f"{category!r} ({names})") from error
    if not text.strip():
        raise Refused(CaseRule.TEXT_MUST_BE_GIVEN)
    if len(text) > explanation_chars_max:
        raise Refused(CaseRule.TEXT_MUST_NOT_BE_TOO_LONG, f"at most {explanation_chars_max}")
    party = responsible_party.strip()
    if not party or len(party) > responsible_party_chars_max:
        raise Refused(
            CaseRule.RESPONSIBLE_PARTY_MUST_BE_GIVEN, f"1 to {responsible_party_chars_max}"
        )
    if len(attachments) > attachments_per_explanation_max:
        raise Refused(
            CaseRule.ATTACHMENTS_MUST_NOT_BE_TOO_MANY, f"at most {attachments_per_explanation_max}"
        )
    return Explanation(kind, text, party, attachments)


def check_attachment(name: str, size_bytes: int) -> str:
    """An attachment's name as kept (a plain file name), if the file may be attached."""
    plain = name.strip()
    if (
        not plain
        or len(plain) > attachment_name_chars_max
        or plain in (".", "..")
        or any(c in plain for c in "/\\\0")
    ):
        raise Refused(CaseRule.ATTACHMENT_NAME_MUST_BE_PLAIN, repr(name))
    if size_bytes > attachment_bytes_max:
        raise Refused(
            CaseRule.ATTACHMENT_MUST_NOT_BE_TOO_LARGE, f"{plain}: at most {attachment_bytes_max} B"
        )
    return plain


def check_decision(move: CaseMove, criterion: Criterion | None) -> Criterion | None:
    """The criterion a review decision adds (M3 for falsified, the named one for an
    escalation once approved, none otherwise), if the decision is well-formed."""
    if move not in DECISIONS:
        raise Refused(CaseRule.DECISION_MUST_BE_A_REVIEW, str(move))
    if move is CaseMove.ESCALATE:
        if criterion not in ESCALATION_CRITERIA:
            raise Refused(CaseRule.ESCALATION_MUST_NAME_M4_G7_OR_A7, str(criterion))
        return criterion
    if criterion is not None:
        raise Refused(CaseRule.ONLY_ESCALATION_NAMES_A_CRITERION, f"{move} with {criterion}")
    return Criterion.M3 if move is CaseMove.FALSIFIED else None


def check_reason(reason: str) -> str:
    """Every decision says why; the timeline keeps it."""
    kept = reason.strip()
    if not kept:
        raise Refused(CaseRule.REASON_MUST_BE_GIVEN)
    return kept[:reason_chars_max]


def check_second_reviewer(escalated_by: str, approver: str) -> None:
    """Maker-checker: whoever escalated never approves their own escalation."""
    if escalated_by == approver:
        raise Refused(CaseRule.SECOND_REVIEWER_MUST_DIFFER, approver)


def escalation_of(events: tuple[CaseEvent, ...]) -> CaseEvent:
    """The escalate event an approval answers: the last one of the timeline."""
    escalations = [e for e in events if e.move is CaseMove.ESCALATE]
    if not escalations:
        raise Refused(CaseRule.MOVE_MUST_BE_ALLOWED, "approve without an escalation")
    return escalations[-1]
