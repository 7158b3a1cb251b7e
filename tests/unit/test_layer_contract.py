"""The import-linter contract holds, and would catch a domain module importing an adapter."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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


def test_the_layer_contract_is_kept(tmp_path: Path) -> None:
    result = run_contracts(copy_project(tmp_path))
    assert result.returncode == 0, result.stdout


def test_a_domain_module_importing_an_adapter_breaks_the_contract(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    (project / "src/clearwatch/domain/leaky.py").write_text(
        '"""A domain module that reaches for the database."""\n'
        "from clearwatch.adapters.db import engine  # noqa: F401\n"
    )
    result = run_contracts(project)
    assert result.returncode != 0
    assert "clearwatch.domain.leaky -> clearwatch.adapters.db.engine" in result.stdout
