"""The sites of `clearwatch drill disaster-recovery`: a live home, a backup folder, a new home.

Everything lives in the drill's own scratch folder: the simulated market (outside the home,
as the files of the day come from outside), the keys (kept apart from the home: a site that
must survive losing its home keeps them elsewhere), the live home, the backup, the new home.
The day is run as the demo runs it: each institution's reporting system submits under its
own identity and a SIPF analyst runs the day; the store's admin takes the backup.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as day_time
from pathlib import Path

from clearwatch.bootstrap import Application, FixedClock, build_application, new_master_key_file
from clearwatch.config import Settings
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.policy import Action
from clearwatch.domain.audit.chain import canonical_json
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.errors import Refused
from clearwatch.entrypoints.cli.demo import (
    DemoLog,
    load_market_registry,
    run_back_offices,
    run_monitor_day,
    submit_day,
)
from clearwatch.entrypoints.cli.demo_people import DEMO_ADMIN, DemoPeople
from clearwatch.services.audit.anchor import verify_anchored_audit
from clearwatch.services.drills.disaster_recovery import DayRun, Phase
from clearwatch.services.recovery.backup import back_up
from clearwatch.services.recovery.restore import restore
from clearwatch.sim.faults import plan_faults
from clearwatch.sim.simulate import DEFAULT_START, SimParameters, simulate

# One broker, two banks, a small day: the drill proves the path, the bench measures size.
DRILL_BROKERS, DRILL_BANKS, DRILL_CLIENTS, DRILL_EXECUTIONS = 1, 2, 120, 500
DRILL_FAULTS = "misappropriation"
DRILL_SEED = 5


def _timed(action: Callable[[], tuple[bool, str]]) -> Phase:
    started = time.perf_counter()
    ok, detail = action()
    return Phase(ok, detail, time.perf_counter() - started)


@dataclass
class DisasterRecoverySites:
    scratch: Path
    # Columnar objects encrypted at rest, the master key in the escrow with the other keys.
    encrypted: bool = False
    market: Path = field(init=False)
    day: str = field(init=False, default="")
    _live: Application | None = field(init=False, default=None)
    _restored: Application | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.market = self.scratch / "market"

    @property
    def live_home(self) -> Path:
        return self.scratch / "live-home"

    @property
    def new_home(self) -> Path:
        return self.scratch / "new-home"

    @property
    def vault(self) -> Path:
        return self.scratch / "backup"

    def _application(self, home: Path) -> Application:
        keys = self.scratch / "key-escrow"
        environment = {
            "CLEARWATCH_AUDIT_KEY": str(keys / "audit-ed25519.pem"),
            "CLEARWATCH_ACCESS_KEY": str(keys / "access-token.key"),
        }
        if self.encrypted:
            master = keys / "columnar-master.key"
            if not master.exists():
                new_master_key_file(master)
            environment |= {
                "CLEARWATCH_ENCRYPT_AT_REST": "1",
                "CLEARWATCH_MASTER_KEY_FILE": str(master),
            }
        settings = Settings.from_environment(environment, home=home)
        clock = FixedClock(datetime.combine(DEFAULT_START, day_time(8), tzinfo=SHANGHAI))
        return build_application(settings, clock)

    def run_day(self) -> DayRun:
        started = time.perf_counter()
        plans = plan_faults(DRILL_FAULTS, days=1, brokers=DRILL_BROKERS, banks=DRILL_BANKS)
        parameters = SimParameters(
            brokers=DRILL_BROKERS,
            banks=DRILL_BANKS,
            clients=DRILL_CLIENTS,
            executions=DRILL_EXECUTIONS,
            days=1,
            seed=DRILL_SEED,
            faults=plans,
        )
        summary = simulate(parameters, self.market)
        self.day = summary.business_dates[0].isoformat()
        live = self._live = self._application(self.live_home)
        live.init_schema()
        people = DemoPeople(live)
        people.admit()
        load_market_registry(live, self.market)
        clock = live.clock
        assert isinstance(clock, FixedClock)
        log = DemoLog()
        run_back_offices(live, clock, self.market, self.day, log)
        submit_day(
            live, clock, self.market, self.day, log, people=people, expected_broker_packages=False
        )
        return self._monitor(live, people, started)

    def _monitor(
        self,
        wired: Application,
        people: DemoPeople,
        started: float,  # float ok
    ) -> DayRun:
        clock = wired.clock
        assert isinstance(clock, FixedClock)
        day = run_monitor_day(wired, clock, self.market, self.day, people)
        text = canonical_json(day.document)
        warnings = sum(len(i.warnings) for i in day.result.institutions)
        return DayRun(
            self.day,
            hashlib.sha256(text.encode("utf-8")).hexdigest(),
            warnings,
            time.perf_counter() - started,
        )

    def back_up(self) -> Phase:
        live = self._live
        assert live is not None

        def act() -> tuple[bool, str]:
            live.gate(local_caller(DEMO_ADMIN)).check_own(Action.STORE_BACKUP)
            receipt = back_up(site=live.recovery_site(), folder=live.backup_folder(self.vault))
            return True, (
                f"{receipt.manifest.store_kind} dump, {len(receipt.manifest.objects)} objects, "
                f"checkpoint seq {receipt.manifest.checkpoint_seq}, manifest signed"
            )

        return _timed(act)

    def destroy_home(self) -> Phase:
        def act() -> tuple[bool, str]:
            if self._live is not None:
                self._live.dispose()
            shutil.rmtree(self.live_home)
            return not self.live_home.exists(), f"{self.live_home.name} removed"

        return _timed(act)

    def restore_elsewhere(self) -> Phase:
        def act() -> tuple[bool, str]:
            restored = self._restored = self._application(self.new_home)
            receipt = restore(
                site=restored.recovery_site(), folder=restored.backup_folder(self.vault)
            )
            return True, (
                f"{len(receipt.manifest.objects)} objects and {receipt.audit_records} audit "
                f"records verified into {self.new_home.name}"
            )

        return _timed(act)

    def verify_restored(self) -> Phase:
        restored = self._restored
        assert restored is not None

        def act() -> tuple[bool, str]:
            report = verify_anchored_audit(anchor=restored.audit_anchor(), data=True)
            problems = ", ".join(f.rule for f in report.findings) or "none"
            return report.intact, (
                f"{report.chain.records_checked} records, {report.rows_checked} rows' "
                f"fingerprints; findings: {problems}"
            )

        return _timed(act)

    def run_day_again(self) -> DayRun:
        restored = self._restored
        assert restored is not None
        people = DemoPeople(restored)
        people.admit()
        return self._monitor(restored, people, time.perf_counter())

    def tampered_backup_refused(self) -> Phase:
        def act() -> tuple[bool, str]:
            copy = self.scratch / "backup-tampered"
            shutil.copytree(self.vault, copy)
            victim = sorted((copy / "objects").glob("*/*.parquet"))[0]
            data = bytearray(victim.read_bytes())
            data[len(data) // 2] ^= 0x01
            victim.write_bytes(bytes(data))
            target = self._application(self.scratch / "tampered-home")
            try:
                restore(site=target.recovery_site(), folder=target.backup_folder(copy))
            except Refused as refusal:
                named = refusal.rule == "backup_object_must_match_hash" and victim.stem in str(
                    refusal
                )
                return named, f"refused: {refusal.rule} ({victim.stem[:12]}…)"
            finally:
                target.dispose()
            return False, "the tampered backup was restored"

        return _timed(act)

    def close(self) -> None:
        for wired in (self._live, self._restored):
            if wired is not None:
                wired.dispose()
