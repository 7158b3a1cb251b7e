"""How `pytest -n 2` (`make test`) shares the tests between its two workers (`--dist loadgroup`
in pyproject.toml, scheduled by `ModuleGroupScheduling` through tests/conftest.py).

A module that declares a module- or class-scoped fixture, itself or in a conftest.py above it,
is one unit of work run by one worker: the fixture is built once, not once per worker (the crash
sample's clean run alone is over a minute). Every other test is a unit of its own. xdist hands
out the units of many tests first and then the single tests in collection order, so that the two
workers finish on short tests, close together.

xdist's own `loadgroup` cannot do this under pytest 9: it groups by appending the `xdist_group`
mark to `item._nodeid`, which pytest 9 no longer reads, so every test went out on its own and a
shared fixture was built on both workers. This scheduler groups on the controller instead, from
the modules' text (the controller imports no test module).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from xdist.scheduler import LoadScopeScheduling

SHARED_SCOPE = re.compile(r"""scope\s*=\s*["'](module|class)["']""")


class ModuleGroupScheduling(LoadScopeScheduling):
    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        return module if shares_fixtures(self.config.rootpath, module) else nodeid


@cache
def shares_fixtures(root: Path, module: str) -> bool:
    """Whether the module, or a conftest.py in a folder above it, declares a shared fixture."""
    relative = Path(module)
    sources = [relative, *(folder / "conftest.py" for folder in relative.parents)]
    return any(_declares_shared_scope(root / source) for source in sources)


def _declares_shared_scope(path: Path) -> bool:
    return path.is_file() and SHARED_SCOPE.search(path.read_text(encoding="utf-8")) is not None
