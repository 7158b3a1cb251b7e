"""A PostgreSQL URL's `sslmode` reaches the driver: `require` is never quietly downgraded.

The test server speaks no TLS, so `require` must fail to connect (naming SSL) while `disable`
and `prefer` connect: proof that the setting is honoured, not dropped on the way.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from clearwatch.adapters.db.engine import make_engine
from tests.conftest import postgres_url_or_skip

pytestmark = pytest.mark.postgres


def _with_sslmode(mode: str) -> str:
    url = make_url(postgres_url_or_skip()).update_query_dict({"sslmode": mode})
    return url.render_as_string(hide_password=False)


@pytest.mark.parametrize("mode", ["disable", "prefer"])
def test_a_mode_the_server_can_meet_connects(mode: str) -> None:
    engine = make_engine(_with_sslmode(mode))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("select 1")).scalar() == 1
    finally:
        engine.dispose()


def test_require_refuses_a_server_without_tls() -> None:
    engine = make_engine(_with_sslmode("require"))
    try:
        with pytest.raises(OperationalError, match="SSL"), engine.connect():
            pass
    finally:
        engine.dispose()
