"""Which modules `make test` keeps on one worker (tests/xdist_modules.py)."""

from __future__ import annotations

from pathlib import Path

from tests.xdist_modules import shares_fixtures

ROOT = Path(__file__).resolve().parents[2]


def test_a_module_with_a_module_scoped_fixture_is_one_unit_of_work() -> None:
    # The crash sample's clean run is built once for the module's trials.
    assert shares_fixtures(ROOT, "tests/reliability/test_crash_sample.py")


def test_a_fixture_shared_from_a_conftest_above_groups_the_modules_below_it() -> None:
    # tests/unit/sim/conftest.py shares one simulated market with its folder's modules.
    assert shares_fixtures(ROOT, "tests/unit/sim/test_oracle.py")


def test_a_module_of_per_test_fixtures_is_handed_out_test_by_test() -> None:
    assert not shares_fixtures(ROOT, "tests/unit/shared/test_money.py")
    assert not shares_fixtures(ROOT, "tests/e2e/test_demo_cli.py")
