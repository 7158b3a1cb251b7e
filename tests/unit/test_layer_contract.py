"""The import-linter contracts hold, and each would catch the leak it exists to stop."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def run_contracts(project: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(project / "src"), "PATH": str(LINT_IMPORTS.parent)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(project / "pyproject.toml"), "--no-cache"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def copy_project(target: Path) -> Path:
    shutil.copytree(ROOT / "src", target / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_contracts_are_kept(tmp_path: Path) -> None:
    result = run_contracts(copy_project(tmp_path))
    assert result.returncode == 0, result.stdout


# Each leak: the module planted, what it imports, and the contract that must name it.
LEAKS = {
    "domain_reaches_for_the_database": (
        "domain/leaky.py",
        "clearwatch.adapters.db.engine",
        "Domain imports nothing of ours but itself",
    ),
    "monitor_reads_the_books": (
        "services/monitor/leaky.py",
        "clearwatch.domain.backoffice.journal",
        "The monitor imports neither the back office nor intraday control",
    ),
    "monitor_engine_asks_a_trading_node": (
        "adapters/engine/monitor/leaky.py",
        "clearwatch.domain.intraday.book",
        "The monitor imports neither the back office nor intraday control",
    ),
    "back_office_runs_a_drill": (
        "services/backoffice/leaky.py",
        "clearwatch.services.drills.harness",
        "Drills may import every area; nothing but the entrypoints imports drills",
    ),
    "entrypoint_opens_the_database_itself": (
        "entrypoints/cli/leaky.py",
        "clearwatch.adapters.db.engine",
        "Entrypoints never import adapters: bootstrap hands them what they need",
    ),
}


@pytest.mark.parametrize("leak", sorted(LEAKS))
def test_each_contract_catches_its_leak(tmp_path: Path, leak: str) -> None:
    planted_at, imported, contract = LEAKS[leak]
    project = copy_project(tmp_path)
    module = "clearwatch." + planted_at.removesuffix(".py").replace("/", ".")
    (project / "src/clearwatch" / planted_at).write_text(
        f'"""A module that breaks a contract: {leak}."""\nimport {imported}  # noqa: F401\n'
    )
    result = run_contracts(project)
    assert result.returncode != 0
    assert f"{contract} BROKEN" in " ".join(result.stdout.split())
    assert f"{module} -> {imported}" in result.stdout
