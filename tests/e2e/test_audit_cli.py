"""`clearwatch audit` against a console user's attacks: each is named in one line, exit 1."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

from clearwatch.bootstrap import build_application
from clearwatch.config import Settings
from clearwatch.domain.access.roles import Role
from clearwatch.services.audit.audit_log import record_audit
from tests.e2e.test_cli_foundation import clearwatch
from tests.support.identities import signed_env


def append_records(env: dict[str, str], count: int) -> None:
    """Records appended by a process that signs nothing (as an API server between commands)."""
    app = build_application(Settings.from_environment(env))
    for n in range(count):
        with app.uow() as uow:
            record_audit(
                uow,
                actor="alice",
                action="test.recorded",
                object_ref=f"thing:{n}",
                payload={"n": n},
                recorded_at=app.clock.now(),
            )
            uow.commit()
    app.dispose()


def store(env: dict[str, str]) -> Path:
    return Path(env["CLEARWATCH_HOME"]) / "clearwatch.sqlite3"


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def auditor(env: dict[str, str]) -> tuple[dict[str, str], int]:
    """`env` signed in as an auditor of the back office, and the log's last seq once they (and
    the store's first admin) are registered: the records a test appends come after it."""
    signed = signed_env(env, "BO:B001", Role.AUDITOR)
    with sqlite3.connect(store(env)) as connection:
        [(last,)] = connection.execute("SELECT max(seq) FROM audit_log")
    return signed, last


def test_init_signs_a_checkpoint_owner_only_and_never_prints_the_key(
    cli_env: dict[str, str],
) -> None:
    init = clearwatch(cli_env, "init")
    assert init.returncode == 0, init.stderr
    home = Path(cli_env["CLEARWATCH_HOME"])
    [checkpoint] = (home / "audit-checkpoints").glob("*.json")
    key = home / "audit-key" / "ed25519.pem"
    assert stat.S_IMODE(checkpoint.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    signed, _ = auditor(cli_env)
    append_records(cli_env, 4)
    outputs = [
        clearwatch(signed, "audit", "checkpoint"),
        clearwatch(signed, "audit", "verify", "--data"),
        clearwatch(signed, "audit", "prove", "3"),
    ]
    secret = "".join(key.read_text().splitlines()[1:-1])
    for result in outputs:
        assert result.returncode == 0, result.stderr
        assert secret not in result.stdout + result.stderr
        assert "PRIVATE KEY" not in result.stdout + result.stderr
    assert "proof verified" in outputs[2].stdout


def test_dropped_triggers_and_a_cut_tail_are_named_and_init_restores(
    cli_env: dict[str, str],
) -> None:
    assert clearwatch(cli_env, "init").returncode == 0
    signed, base = auditor(cli_env)
    append_records(cli_env, 5)
    assert clearwatch(signed, "audit", "checkpoint").returncode == 0  # at seq base + 5
    with sqlite3.connect(store(cli_env)) as connection:
        connection.execute("DROP TRIGGER audit_log_refuse_delete")
        connection.execute("DELETE FROM audit_log WHERE seq > ?", (base + 3,))
    verify = clearwatch(signed, "audit", "verify")
    assert verify.returncode == 1
    lines = error_lines(verify.stderr)
    cut = f"checkpoint at seq {base + 5}, store ends at {base + 3}"
    assert f"error: audit_log_truncated: {cut}" in lines
    assert "error: append_only_trigger_missing: audit_log_refuse_delete" in lines
    init = clearwatch(cli_env, "init")
    # The trigger is back; the cut tail stays named (and no checkpoint blesses it).
    assert "append-only triggers restored: audit_log_refuse_delete" in init.stdout
    assert init.returncode == 1
    assert "audit_log_truncated" in init.stderr
    after = clearwatch(signed, "audit", "verify")
    assert not any("append_only_trigger_missing" in line for line in error_lines(after.stderr))
    assert any("audit_log_truncated" in line for line in error_lines(after.stderr))


def test_an_edited_and_rechained_log_is_named(cli_env: dict[str, str]) -> None:
    assert clearwatch(cli_env, "init").returncode == 0
    signed, base = auditor(cli_env)
    append_records(cli_env, 4)
    assert clearwatch(signed, "audit", "checkpoint").returncode == 0  # at seq base + 4
    app = build_application(Settings.from_environment(cli_env))
    with app.read_uow() as uow:
        records = list(uow.audit.records())
    app.dispose()
    from clearwatch.domain.audit.chain import AuditEvent, seal

    with sqlite3.connect(store(cli_env)) as connection:
        connection.execute("DROP TRIGGER audit_log_refuse_update")
        prev = records[1].prev_hash
        for record in records[1:]:
            actor = "mallory" if record.seq == 2 else record.actor
            event = AuditEvent(actor, record.action, record.object_ref, {})
            forged = seal(
                event,
                seq=record.seq,
                recorded_at=app.clock.now(),
                prev_hash=prev,
                algorithm=record.algorithm,
            )
            connection.execute(
                "UPDATE audit_log SET actor = ?, payload_json = ?, recorded_at = ?, "
                "prev_hash = ?, hash = ? WHERE seq = ?",
                (actor, forged.payload_json, forged.recorded_at, prev, forged.hash, record.seq),
            )
            prev = forged.hash
    verify = clearwatch(signed, "audit", "verify")
    assert verify.returncode == 1
    rechained = [line for line in error_lines(verify.stderr) if "audit_log_rechained" in line]
    assert len(rechained) == 1 and f"records 1..{base + 4} " in rechained[0]


def test_proofs_verify_between_checkpoints(cli_env: dict[str, str]) -> None:
    assert clearwatch(cli_env, "init").returncode == 0  # checkpoint at seq 1
    signed, base = auditor(cli_env)
    append_records(cli_env, 6)
    latest = str(base + 6)
    assert clearwatch(signed, "audit", "checkpoint").returncode == 0  # at seq base + 6
    consistency = clearwatch(signed, "audit", "consistency", "1", latest)
    assert consistency.returncode == 0, consistency.stderr
    assert "proof verified" in consistency.stdout
    missing = clearwatch(signed, "audit", "consistency", "2", latest)
    assert missing.returncode == 3
    assert "audit_checkpoint_must_exist" in missing.stderr
