"""The one policy table `(action, role, scope)` that decides every request (spec platform §3).

Deny by default: an action is allowed only when a rule names it, a role the actor holds (and
may hold in their organisation), and a scope the resource falls in. Every entrypoint asks
`decide`; nothing else grants anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from clearwatch.domain.access.organisations import (
    Organisation,
    OrganisationKind,
    parse_organisation,
)
from clearwatch.domain.access.roles import APPROVER_ROLES, ROLES_BY_KIND, Role
from clearwatch.domain.shared.errors import Refused


class Action(StrEnum):
    """What a caller may ask for, one per command or endpoint that exists."""

    MONITOR_SUBMIT = "monitor.submit"
    MONITOR_SUPERSEDE = "monitor.supersede"
    REGISTRY_LOAD = "monitor.registry.load"
    REGISTRY_SHOW = "monitor.registry.show"
    # Special-account filings (账户报备): institutions file, SIPF's registry officer decides.
    FILINGS_FILE = "monitor.filings.file"
    FILINGS_CLOSE = "monitor.filings.close"
    FILINGS_LIST = "monitor.filings.list"
    FILINGS_APPROVE = "monitor.filings.approve"
    FILINGS_REJECT = "monitor.filings.reject"
    RUN_DAY = "monitor.run_day"
    WARNINGS_LIST = "monitor.warnings.list"
    PACKAGES_LIST = "monitor.packages.list"
    MONITOR_WITNESS = "monitor.witness"  # the brokers' signed audit heads the monitor keeps
    MONITOR_EVIDENCE = "monitor.evidence"  # findings' client and account numbers, unmasked
    FILINGS_EVIDENCE = "monitor.filings.evidence"  # filings' account numbers, unmasked
    BOOKS_EVIDENCE = "broker.evidence"  # a broker's clients and accounts, unmasked
    APPROVALS_REQUEST = "approvals.request"
    APPROVALS_APPROVE = "approvals.approve"
    APPROVALS_REJECT = "approvals.reject"
    APPROVALS_LIST = "approvals.list"
    USER_ADD = "user.add"
    USER_GRANT = "user.grant"
    USER_REVOKE = "user.revoke"  # take a permanent role back (issue 13)
    USER_EMERGENCY_GRANT = "user.emergency_grant"
    USER_LIST = "user.list"
    BROKER_IMPORT = "broker.import"
    BROKER_EOD = "broker.eod"
    BROKER_EOD_STATUS = "broker.eod.status"  # read the end of day's step log (the web's page)
    BROKER_CHECK = "broker.check"
    BROKER_BATCHES = "broker.batches"
    BROKER_BREAKS = "broker.breaks"
    BROKER_BREAK_EXPLAIN = "broker.break.explain"  # match or explain a break, for a checker
    INTRADAY_CHECK = "intraday.check"
    INTRADAY_HALTS = "intraday.halts"
    AUDIT_VERIFY = "audit.verify"
    AUDIT_SHOW = "audit.show"
    AUDIT_EVIDENCE = "audit.evidence"  # audit records' client and account refs, unmasked
    AUDIT_CHECKPOINT = "audit.checkpoint"
    WHOAMI = "access.whoami"
    TOKEN_CREATE = "access.token.create"
    TOKEN_REVOKE = "access.token.revoke"
    TOKEN_LIST = "access.token.list"
    PASSWORD_RESET = "access.password.reset"
    WATCH_READ = "watch.read"  # replay a day through the detectors, read their alerts
    WATCH_FEED = "watch.feed"  # publish to and consume the live stream
    WATCH_REVIEW = "watch.alerts.review"  # confirm or dismiss an alert (the risk desk)
    WATCH_HALT = "watch.alerts.halt"  # ask to halt a client a confirmed alert names
    # Verification cases, warning approval and delivery (issue 14).
    CASES_READ = "monitor.cases.read"
    CASES_EXPLAIN = "monitor.cases.explain"
    CASES_DECIDE = "monitor.cases.decide"
    CASES_APPROVE = "monitor.cases.approve"  # the second reviewer approves an escalation
    MONITOR_SWEEP = "monitor.sweep"
    WARNINGS_APPROVE = "monitor.warnings.approve"
    WARNINGS_WITHDRAW = "monitor.warnings.withdraw"
    DELIVER = "monitor.deliver"
    DELIVERIES_LIST = "monitor.deliveries.list"
    INBOX_READ = "monitor.inbox.read"
    REMINDERS_READ = "monitor.reminders.read"  # verbal reminders as the bureau's tasks
    REMINDERS_DONE = "monitor.reminders.done"
    STORE_BACKUP = "store.backup"  # a backup holds every client's data (issue 18)
    STORE_KEYS_ROTATE = "store.keys.rotate"  # re-wrap the columnar store's data key (issue 18)
    STORE_KEYS_ENCRYPT = "store.keys.encrypt"  # encrypt a plaintext columnar store in place


class Scope(StrEnum):
    """Which things of which organisation a rule reaches."""

    OWN_ORGANISATION = "own_organisation"  # users, approvals, audit of the actor's organisation
    OWN_INSTITUTION = "own_institution"  # an institution's packages, receipts, filings, cases
    OWN_WARNING_COPIES = "own_warning_copies"  # the copies of its released warnings
    ROUTED_TO_BUREAU = "routed_to_bureau"  # the warnings routed to the actor's bureau
    WHOLE_MONITOR = "whole_monitor"  # SIPF: everything of the monitor
    SPECIAL_REPORTS = "special_reports"  # CSRC: special reports and what they cite
    OWN_BROKER_BOOKS = "own_broker_books"  # a back office: only its broker's books
    MONITOR_PARTIES = "monitor_parties"  # SIPF's admin: users of SIPF, bureaus, CSRC, institutions


@dataclass(frozen=True)
class Rule:
    action: Action
    role: Role
    scope: Scope
    needs_reason: bool = False

    @property
    def name(self) -> str:
        return f"{self.action}/{self.role}/{self.scope}"


def _rules(
    action: Action, scope: Scope, *roles: Role, needs_reason: bool = False
) -> tuple[Rule, ...]:
    return tuple(Rule(action, role, scope, needs_reason) for role in roles)


A, R, S = Action, Role, Scope
_SIPF_READERS = (R.ANALYST, R.REVIEWER, R.REGISTRY_OFFICER)
_BOOKS_READERS = (R.OPERATOR, R.CHECKER, R.AUDITOR)
_EVERY_ROLE = tuple(Role)
_APPROVERS = tuple(sorted(APPROVER_ROLES))

# The table. A pair missing here is denied; `admin` appears on no approve or reject row.
POLICY: tuple[Rule, ...] = (
    *_rules(A.MONITOR_SUBMIT, S.OWN_INSTITUTION, R.SUBMITTER, R.OFFICER),
    *_rules(A.MONITOR_SUPERSEDE, S.OWN_INSTITUTION, R.OFFICER, needs_reason=True),
    *_rules(A.REGISTRY_LOAD, S.WHOLE_MONITOR, R.REGISTRY_OFFICER),
    *_rules(A.REGISTRY_SHOW, S.WHOLE_MONITOR, *_SIPF_READERS),
    # Filings: an institution's officer files and closes its own accounts (the use case names
    # whose: a broker by broker_id, a bank by bank_id); its officer and viewer list its own;
    # SIPF lists all; only the registry officer decides, never on a filing of their own.
    *_rules(A.FILINGS_FILE, S.OWN_INSTITUTION, R.OFFICER),
    *_rules(A.FILINGS_CLOSE, S.OWN_INSTITUTION, R.OFFICER),
    *_rules(A.FILINGS_LIST, S.OWN_INSTITUTION, R.OFFICER, R.VIEWER),
    *_rules(A.FILINGS_LIST, S.WHOLE_MONITOR, *_SIPF_READERS),
    *_rules(A.FILINGS_APPROVE, S.WHOLE_MONITOR, R.REGISTRY_OFFICER),
    *_rules(A.FILINGS_REJECT, S.WHOLE_MONITOR, R.REGISTRY_OFFICER),
    *_rules(A.RUN_DAY, S.WHOLE_MONITOR, R.ANALYST, R.REVIEWER),
    *_rules(A.WARNINGS_LIST, S.WHOLE_MONITOR, *_SIPF_READERS),
    *_rules(A.WARNINGS_LIST, S.ROUTED_TO_BUREAU, R.BUREAU_ANALYST, R.BUREAU_HEAD),
    *_rules(A.WARNINGS_LIST, S.SPECIAL_REPORTS, R.CSRC_VIEWER),
    *_rules(A.WARNINGS_LIST, S.OWN_WARNING_COPIES, R.OFFICER, R.VIEWER),
    *_rules(A.PACKAGES_LIST, S.WHOLE_MONITOR, *_SIPF_READERS),
    *_rules(A.PACKAGES_LIST, S.OWN_INSTITUTION, R.SUBMITTER, R.OFFICER, R.VIEWER),
    # The regulator as witness of the brokers' audit logs: SIPF reads and hands out the heads.
    *_rules(A.MONITOR_WITNESS, S.WHOLE_MONITOR, *_SIPF_READERS),
    # The evidence itself (accounts unmasked): SIPF's analysts, who investigate, and the
    # institution's officer for its own accounts; every other reader sees them masked.
    *_rules(A.MONITOR_EVIDENCE, S.WHOLE_MONITOR, R.ANALYST, R.REVIEWER),
    *_rules(A.MONITOR_EVIDENCE, S.OWN_INSTITUTION, R.OFFICER),
    # A filing's account number, whole: the evidence's readers, and the registry officer, who
    # approves the number into the registry and so must see the number approved.
    *_rules(A.FILINGS_EVIDENCE, S.WHOLE_MONITOR, R.ANALYST, R.REVIEWER, R.REGISTRY_OFFICER),
    *_rules(A.FILINGS_EVIDENCE, S.OWN_INSTITUTION, R.OFFICER),
    *_rules(A.APPROVALS_REQUEST, S.OWN_ORGANISATION, R.OPERATOR, R.ADMIN),
    *_rules(A.APPROVALS_APPROVE, S.OWN_ORGANISATION, *_APPROVERS),
    *_rules(A.APPROVALS_REJECT, S.OWN_ORGANISATION, *_APPROVERS),
    *_rules(A.APPROVALS_LIST, S.OWN_ORGANISATION, *_BOOKS_READERS, R.ADMIN, *_APPROVERS),
    *_rules(A.USER_ADD, S.OWN_ORGANISATION, R.ADMIN),
    *_rules(A.USER_ADD, S.MONITOR_PARTIES, R.ADMIN),
    *_rules(A.USER_GRANT, S.OWN_ORGANISATION, R.ADMIN),
    *_rules(A.USER_GRANT, S.MONITOR_PARTIES, R.ADMIN),
    *_rules(A.USER_REVOKE, S.OWN_ORGANISATION, R.ADMIN),
    *_rules(A.USER_REVOKE, S.MONITOR_PARTIES, R.ADMIN),
    *_rules(A.USER_EMERGENCY_GRANT, S.OWN_ORGANISATION, R.ADMIN),
    *_rules(A.USER_LIST, S.OWN_ORGANISATION, R.ADMIN, R.AUDITOR),
    *_rules(A.USER_LIST, S.MONITOR_PARTIES, R.ADMIN),
    *_rules(A.BROKER_IMPORT, S.OWN_BROKER_BOOKS, R.OPERATOR),
    *_rules(A.BROKER_EOD, S.OWN_BROKER_BOOKS, R.OPERATOR),
    *_rules(A.BROKER_EOD_STATUS, S.OWN_BROKER_BOOKS, *_BOOKS_READERS),
    *_rules(A.BROKER_CHECK, S.OWN_BROKER_BOOKS, *_BOOKS_READERS),
    *_rules(A.BROKER_BATCHES, S.OWN_BROKER_BOOKS, *_BOOKS_READERS),
    *_rules(A.BROKER_BREAKS, S.OWN_BROKER_BOOKS, *_BOOKS_READERS),
    *_rules(A.BROKER_BREAK_EXPLAIN, S.OWN_BROKER_BOOKS, R.OPERATOR),
    # The broker's clients and accounts, whole (alerts, breaks, approval requests): who acts
    # on one client, the operator who asks for a halt or a transfer and the checker who
    # approves it; the auditor and the admin read them masked.
    *_rules(A.BOOKS_EVIDENCE, S.OWN_BROKER_BOOKS, R.OPERATOR, R.CHECKER),
    *_rules(A.INTRADAY_CHECK, S.OWN_BROKER_BOOKS, *_BOOKS_READERS),
    *_rules(A.INTRADAY_HALTS, S.OWN_BROKER_BOOKS, *_BOOKS_READERS),
    *_rules(A.AUDIT_VERIFY, S.OWN_ORGANISATION, R.AUDITOR, R.ADMIN),
    *_rules(A.AUDIT_SHOW, S.OWN_ORGANISATION, R.AUDITOR, R.ADMIN),
    # The audit records' refs whole (a halted client, an alert's account): the auditor, who
    # investigates; the admin, who runs the deployment, reads them masked.
    *_rules(A.AUDIT_EVIDENCE, S.OWN_ORGANISATION, R.AUDITOR),
    *_rules(A.AUDIT_CHECKPOINT, S.OWN_ORGANISATION, R.AUDITOR, R.ADMIN),
    *_rules(A.WHOAMI, S.OWN_ORGANISATION, *_EVERY_ROLE),
    # Machines' tokens: an institution's officer makes them for its reporting system; an
    # admin for its own organisation's users.
    *_rules(A.TOKEN_CREATE, S.OWN_ORGANISATION, R.OFFICER, R.ADMIN),
    *_rules(A.TOKEN_REVOKE, S.OWN_ORGANISATION, R.OFFICER, R.ADMIN),
    *_rules(A.TOKEN_LIST, S.OWN_ORGANISATION, R.OFFICER, R.ADMIN),
    *_rules(A.PASSWORD_RESET, S.OWN_ORGANISATION, R.ADMIN),
    *_rules(A.PASSWORD_RESET, S.MONITOR_PARTIES, R.ADMIN),
    # The watch is the back office's risk desk: its readers replay, its operators run the feed.
    *_rules(A.WATCH_READ, S.OWN_ORGANISATION, *_BOOKS_READERS),
    *_rules(A.WATCH_FEED, S.OWN_ORGANISATION, R.OPERATOR),
    # An alert is about one broker's books: its operator reviews it and asks for a halt; the
    # halt is a maker-checker request, so a checker of the same back office approves it
    # (APPROVALS_APPROVE), or a duty officer holding an emergency grant of `checker`.
    *_rules(A.WATCH_REVIEW, S.OWN_BROKER_BOOKS, R.OPERATOR),
    *_rules(A.WATCH_HALT, S.OWN_BROKER_BOOKS, R.OPERATOR),
    # Cases: the institution's officer explains its own; SIPF's analysts decide; a reviewer
    # approves an escalation (never their own: the use case checks who escalated); a bureau
    # reads the cases behind what is routed to it.
    *_rules(A.CASES_READ, S.WHOLE_MONITOR, *_SIPF_READERS),
    *_rules(A.CASES_READ, S.ROUTED_TO_BUREAU, R.BUREAU_ANALYST, R.BUREAU_HEAD),
    *_rules(A.CASES_READ, S.OWN_INSTITUTION, R.OFFICER, R.VIEWER),
    *_rules(A.CASES_EXPLAIN, S.OWN_INSTITUTION, R.OFFICER),
    *_rules(A.CASES_DECIDE, S.WHOLE_MONITOR, R.ANALYST, R.REVIEWER),
    *_rules(A.CASES_APPROVE, S.WHOLE_MONITOR, R.REVIEWER),
    *_rules(A.MONITOR_SWEEP, S.WHOLE_MONITOR, R.ANALYST, R.REVIEWER),
    # Warnings: a reviewer other than the proposer approves or withdraws (with a reason).
    *_rules(A.WARNINGS_APPROVE, S.WHOLE_MONITOR, R.REVIEWER),
    *_rules(A.WARNINGS_WITHDRAW, S.WHOLE_MONITOR, R.REVIEWER, needs_reason=True),
    *_rules(A.DELIVER, S.WHOLE_MONITOR, R.ANALYST, R.REVIEWER),
    *_rules(A.DELIVERIES_LIST, S.WHOLE_MONITOR, *_SIPF_READERS),
    # An inbox is read by the organisation it belongs to.
    *_rules(A.INBOX_READ, S.ROUTED_TO_BUREAU, R.BUREAU_ANALYST, R.BUREAU_HEAD),
    *_rules(A.INBOX_READ, S.OWN_WARNING_COPIES, R.OFFICER, R.VIEWER),
    *_rules(A.INBOX_READ, S.SPECIAL_REPORTS, R.CSRC_VIEWER),
    # A verbal reminder is a task of the institution's bureau, which marks it done; SIPF and
    # the institution itself only read it.
    *_rules(A.REMINDERS_READ, S.WHOLE_MONITOR, *_SIPF_READERS),
    *_rules(A.REMINDERS_READ, S.ROUTED_TO_BUREAU, R.BUREAU_ANALYST, R.BUREAU_HEAD),
    *_rules(A.REMINDERS_READ, S.OWN_INSTITUTION, R.OFFICER, R.VIEWER),
    *_rules(A.REMINDERS_DONE, S.ROUTED_TO_BUREAU, R.BUREAU_ANALYST, R.BUREAU_HEAD),
    # The deployment's own admin backs up its store and rotates its master key; no one else.
    *_rules(A.STORE_BACKUP, S.OWN_ORGANISATION, R.ADMIN),
    *_rules(A.STORE_KEYS_ROTATE, S.OWN_ORGANISATION, R.ADMIN),
    *_rules(A.STORE_KEYS_ENCRYPT, S.OWN_ORGANISATION, R.ADMIN),
)


@dataclass(frozen=True)
class Actor:
    """Who asks: a registered user, their organisation, and the roles in force now."""

    user_id: str
    organisation: Organisation
    roles: frozenset[Role]


@dataclass(frozen=True)
class Resource:
    """What the request touches, described by the organisations it belongs to.

    `organisation` owns users, approvals and audit records; `institution` is the institution a
    package or warning is about (a broker id for books); `bureau` the region a warning is
    routed to; `special_report` marks what CSRC receives; `reason` is the caller's stated one.

    `released`: the thing has left SIPF — a warning once a reviewer approved it (never while
    proposed, never withdrawn), a notice delivered from one, the cases behind one, a reminder
    given to its bureau. Bureaus, CSRC and an institution's warning copies see only what is
    released; whoever builds a resource and does not know says nothing, and it is not.
    """

    organisation: str | None = None
    institution: str | None = None
    bureau: str | None = None
    special_report: bool = False
    reason: str | None = None
    released: bool = False


@dataclass(frozen=True)
class Allowed:
    rule: Rule


@dataclass(frozen=True)
class Denied:
    """The rule that was broken (its name) and on what."""

    rule: str
    where: str = ""


NO_RULE = "policy_must_allow_action"
REASON_NEEDED = "reason_must_be_given"


def in_scope(scope: Scope, actor: Organisation, resource: Resource) -> bool:
    """Does `resource` fall in `scope` as seen from the actor's organisation?"""
    kind = actor.kind
    match scope:
        case Scope.OWN_ORGANISATION:
            return resource.organisation == actor.ident
        case Scope.OWN_INSTITUTION:
            return kind is OrganisationKind.INSTITUTION and resource.institution == actor.code
        case Scope.OWN_WARNING_COPIES:
            own = kind is OrganisationKind.INSTITUTION and resource.institution == actor.code
            return own and resource.released
        case Scope.ROUTED_TO_BUREAU:
            routed = kind is OrganisationKind.BUREAU and resource.bureau == actor.code
            return routed and resource.released
        case Scope.WHOLE_MONITOR:
            return kind is OrganisationKind.SIPF  # proposed and withdrawn warnings too
        case Scope.SPECIAL_REPORTS:
            return kind is OrganisationKind.CSRC and resource.special_report and resource.released
        case Scope.OWN_BROKER_BOOKS:
            return kind is OrganisationKind.BACK_OFFICE and resource.institution == actor.code
        case Scope.MONITOR_PARTIES:
            return kind is OrganisationKind.SIPF and _is_monitor_party(resource.organisation)


def _is_monitor_party(ident: str | None) -> bool:
    if ident is None:
        return False
    try:
        return parse_organisation(ident).kind is not OrganisationKind.BACK_OFFICE
    except Refused:
        return False


def decide(actor: Actor, action: Action, resource: Resource) -> Allowed | Denied:
    """Allowed by the first rule that matches, else Denied; a role the actor's organisation
    cannot hold counts for nothing, whatever the store says."""
    valid = actor.roles & ROLES_BY_KIND[actor.organisation.kind]
    matching = [
        rule
        for rule in POLICY
        if rule.action is action
        and rule.role in valid
        and in_scope(rule.scope, actor.organisation, resource)
    ]
    if not matching:
        return Denied(NO_RULE, f"{action} by {actor.user_id} ({actor.organisation})")
    rule = matching[0]
    if rule.needs_reason and not (resource.reason or "").strip():
        return Denied(REASON_NEEDED, str(action))
    return Allowed(rule)
