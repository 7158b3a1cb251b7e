"""Drill: disaster recovery — a market day, a backup, the home destroyed, a restore elsewhere.

PFMI principle 17 asks an FMI to resume within two hours of a disruption. The drill runs one
market day through the back office and the monitor, backs the store up while it is live,
destroys the whole home, restores the backup into a new one, verifies it (every hash, the
audit chain against the signed checkpoint, the rows the audit fingerprints) and runs the
day's monitoring again on the restored store: the result must hash the same. Each phase is
timed; the keys are kept apart from the home, as a site that must survive losing it keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from clearwatch.services.drills.harness import DrillLog, DrillReport

PFMI_RECOVERY_SECONDS_MAX = 2 * 60 * 60  # principle 17: resume within two hours


@dataclass(frozen=True)
class DayRun:
    business_date: str
    result_sha256: str  # the day's result document, canonical JSON
    warnings: int
    seconds: float  # wall time, for the narrative only; nothing is decided by it


@dataclass(frozen=True)
class Phase:
    """One step of the recovery, what it says about itself, and how long it took."""

    ok: bool
    detail: str
    seconds: float


class RecoverySiteDrill(Protocol):
    """The sites the drill acts on: the live home, the backup folder, the new home."""

    def run_day(self) -> DayRun:
        """A market day in the live home: back offices, packages, the monitor's run."""
        ...

    def back_up(self) -> Phase: ...

    def destroy_home(self) -> Phase:
        """Remove the live home whole; ok when nothing of it is left."""
        ...

    def restore_elsewhere(self) -> Phase: ...

    def verify_restored(self) -> Phase:
        """`audit verify --data` on the restored store."""
        ...

    def run_day_again(self) -> DayRun:
        """The same day's monitoring run on the restored store."""
        ...

    def tampered_backup_refused(self) -> Phase:
        """A copy of the backup with one object flipped: the restore must refuse it by name."""
        ...


def run_disaster_recovery_drill(*, site: RecoverySiteDrill) -> DrillReport:
    log = DrillLog()
    first = site.run_day()
    log.say(
        f"market day {first.business_date} runs in the live home: end of day, every package, "
        f"the monitor's run ({first.warnings} warnings; result {first.result_sha256[:16]}…) "
        f"in {first.seconds:.1f} s"
    )
    backup = _phase(log, "the live store is backed up", site.back_up(), control="backup")
    destroyed = _phase(log, "the home is destroyed", site.destroy_home())
    restored = _phase(
        log,
        "the backup is verified and restored elsewhere",
        site.restore_elsewhere(),
        control="signed manifest, sha256 of every object",
    )
    verified = _phase(
        log,
        "the restored store verifies",
        site.verify_restored(),
        control="audit chain against the signed checkpoint",
    )
    again = site.run_day_again()
    log.say(
        f"the day's monitoring runs again on the restored store: result "
        f"{again.result_sha256[:16]}… in {again.seconds:.1f} s"
    )
    log.check(
        "the day's result is identical after recovery",
        again.result_sha256 == first.result_sha256,
        f"{first.result_sha256[:16]}… / {again.result_sha256[:16]}…",
    )
    recovery = restored.seconds + verified.seconds + again.seconds
    log.check(
        "recovery is within PFMI principle 17's two hours",
        backup.ok
        and destroyed.ok
        and restored.ok
        and verified.ok
        and recovery < PFMI_RECOVERY_SECONDS_MAX,
        f"restore, verify and re-run in {recovery:.1f} s",
    )
    _phase(
        log,
        "a backup with one object flipped is refused",
        site.tampered_backup_refused(),
        control="backup_object_must_match_hash",
    )
    return DrillReport("disaster-recovery", tuple(log.lines), tuple(log.checks))


def _phase(log: DrillLog, name: str, phase: Phase, *, control: str | None = None) -> Phase:
    log.say(f"{name}: {phase.detail} ({phase.seconds:.1f} s)", control=control)
    log.check(name, phase.ok, phase.detail)
    return phase
