"""`clearwatch watch replay` as a user runs it over a simulated market."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import nats
import pytest

from clearwatch.domain.access.roles import Role
from clearwatch.sim.faults import plan_faults
from clearwatch.sim.simulate import SimParameters, simulate
from tests.support.identities import signed_env


def clearwatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "clearwatch.entrypoints.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def test_replay_prints_each_fault_s_alert_with_its_evidence(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    market = tmp_path / "m"
    made = clearwatch(
        cli_env, "sim", "day", "--out", str(market), "--brokers", "2", "--banks", "2",
        "--clients", "300", "--executions", "1500", "--days", "2",
        "--faults", "withdrawal_burst,node_divergence",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    risk_desk = signed_env(cli_env, "BO:B001", Role.AUDITOR)
    replayed = clearwatch(risk_desk, "watch", "replay", "--from", str(market), "--json")
    assert replayed.returncode == 0, replayed.stderr
    alerts = json.loads(replayed.stdout)
    found = {(a["rule"], a["broker_id"]) for a in alerts}
    assert {("withdrawal_burst", "B001"), ("node_divergence", "B002")} <= found
    assert all(a["evidence"] and len(a["rules_sha256"]) == 64 for a in alerts)
    unsigned = clearwatch(cli_env, "watch", "replay", "--from", str(market))
    assert unsigned.returncode == 3 and "caller_must_be_authenticated" in unsigned.stderr
    analyst = signed_env(
        cli_env | {"CLEARWATCH_HOME": str(tmp_path / "sipf")}, "SIPF", Role.ANALYST
    )
    outsider = clearwatch(analyst, "watch", "replay", "--from", str(market))
    assert outsider.returncode == 3 and "policy_must_allow_action" in outsider.stderr


def test_replay_of_a_missing_directory_is_a_usage_error(cli_env: dict[str, str]) -> None:
    result = clearwatch(cli_env, "watch", "replay", "--from", "/nonexistent/dir")
    assert result.returncode == 2 and "is not a directory" in result.stderr


@pytest.fixture(scope="module")
def clean_and_faulty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Five days of one small market, clean, and with a withdrawal burst on day 4."""
    root = tmp_path_factory.mktemp("watch-models")
    for name, faults in (("clean", ""), ("faulty", "withdrawal_burst@4")):
        plans = plan_faults(faults, days=5, brokers=2, banks=2)
        simulate(SimParameters(2, 2, 300, 1500, 5, seed=5, faults=plans), root / name)
    return root / "clean", root / "faulty"


def _train(env: dict[str, str], clean: Path, model_file: Path) -> str:
    operator = signed_env(env, "BO:B001", Role.OPERATOR)
    trained = clearwatch(operator, "watch", "train", "--from", str(clean), "--out", str(model_file))
    assert trained.returncode == 0 and "trained" in trained.stdout, trained.stderr
    return trained.stdout


def test_models_trained_on_clean_days_score_a_replay_with_their_version(
    tmp_path: Path, cli_env: dict[str, str], clean_and_faulty: tuple[Path, Path]
) -> None:
    clean, faulty = clean_and_faulty
    model_file = tmp_path / "m.npz"
    trained = _train(cli_env, clean, model_file)
    risk_desk = signed_env(cli_env, "BO:B001", Role.AUDITOR)
    replayed = clearwatch(
        risk_desk, "watch", "replay", "--from", str(faulty), "--models", str(model_file), "--json"
    )
    assert replayed.returncode == 0, replayed.stderr
    modelled = [a for a in json.loads(replayed.stdout) if a["model_version"]]
    assert modelled, "the models raised nothing over five days"
    version = modelled[0]["model_version"]
    assert len(version) == 64 and version[:12] in trained
    assert all(a["model_version"] == version and len(a["contributions"]) == 3 for a in modelled)
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a model file")
    refused = clearwatch(
        risk_desk, "watch", "replay", "--from", str(faulty), "--models", str(broken)
    )
    assert refused.returncode == 2 and "model_file_must_be_readable" in refused.stderr


def test_models_trained_with_a_reference_market_keep_it_and_score_with_it(
    tmp_path: Path, cli_env: dict[str, str], clean_and_faulty: tuple[Path, Path]
) -> None:
    clean, faulty = clean_and_faulty
    reference = tmp_path / "reference"
    simulate(SimParameters(2, 2, 300, 1500, 5, seed=6), reference)  # a seed of its own
    operator = signed_env(cli_env, "BO:B001", Role.OPERATOR)
    train = ("watch", "train", "--from", str(clean))
    missing = clearwatch(operator, *train, "--out", str(tmp_path / "x.npz"),
                         "--reference", str(tmp_path / "none"))  # fmt: skip
    assert missing.returncode == 2 and "is not a directory" in missing.stderr
    model_file = tmp_path / "m.npz"
    trained = clearwatch(operator, *train, "--out", str(model_file), "--reference", str(reference))
    assert trained.returncode == 0 and "trained" in trained.stdout, trained.stderr
    alone = _train(cli_env, clean, tmp_path / "alone.npz")
    assert trained.stdout.split()[2] != alone.split()[2]  # the reference is in the version
    replayed = clearwatch(signed_env(cli_env, "BO:B001", Role.AUDITOR), "watch", "replay",
                          "--from", str(faulty), "--models", str(model_file), "--json")  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr
    versions = {a["model_version"][:12] for a in json.loads(replayed.stdout) if a["model_version"]}
    assert versions == {trained.stdout.split()[2]}


def test_serve_with_models_scores_each_day_the_stream_has_moved_past(
    tmp_path: Path, cli_env: dict[str, str], clean_and_faulty: tuple[Path, Path]
) -> None:
    # Only a machine without NATS configured skips; .ci/run always sets the URL.
    url = os.environ.get("CLEARWATCH_TEST_NATS_URL") or pytest.skip("no CLEARWATCH_TEST_NATS_URL")
    clean, faulty = clean_and_faulty
    model_file = tmp_path / "m.npz"
    _train(cli_env, clean, model_file)
    stream = f"T_SERVE_{uuid.uuid4().hex[:10]}"
    env = cli_env | {"CLEARWATCH_WATCH_NATS_URL": url, "CLEARWATCH_WATCH_STREAM": stream}
    try:
        fed = clearwatch(signed_env(env, "BO:B001", Role.OPERATOR), "watch", "publish",
                         "--from", str(faulty))  # fmt: skip
        assert fed.returncode == 0, fed.stderr
        served = clearwatch(signed_env(env, "BO:B001", Role.OPERATOR), "watch", "serve",
                            "--idle-exit", "2", "--models", str(model_file))  # fmt: skip
        assert served.returncode == 0, served.stderr
    finally:
        asyncio.run(_delete_stream(url, stream))
    log = Path(env["CLEARWATCH_HOME"]) / "watch" / "alerts.jsonl"
    alerts = [json.loads(line) for line in log.read_text("utf-8").splitlines()]
    modelled_days = {a["business_date"] for a in alerts if a["model_version"]}
    last_day = max(day.name for day in faulty.iterdir() if day.name.startswith("20"))
    assert modelled_days and last_day not in modelled_days  # the open day is never scored
    assert "models " in served.stdout


async def _delete_stream(url: str, stream: str) -> None:
    client = await nats.connect(url)
    try:
        await client.jetstream().delete_stream(stream)
    except nats.js.errors.NotFoundError:
        pass
    finally:
        await client.close()
