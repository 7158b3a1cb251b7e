"""Users of a store from before organisations get one when the store is upgraded."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from clearwatch.adapters.db.migrate import _config, upgrade_schema


def test_older_users_are_placed_in_an_organisation_by_the_upgrade(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0400_access_intraday")
        for user_id, institution, role in (
            ("mia", "B001", "operator"),
            ("ana", None, "analyst"),
            ("root", None, "admin"),
        ):
            connection.execute(
                text("INSERT INTO access_users VALUES (:u, :i, 't', 'bootstrap')"),
                {"u": user_id, "i": institution},
            )
            connection.execute(
                text("INSERT INTO access_user_roles VALUES (:u, :r, 't', 'bootstrap')"),
                {"u": user_id, "r": role},
            )
    upgrade_schema(engine)
    with engine.connect() as connection:
        placed = dict(
            connection.execute(text("SELECT user_id, organisation FROM access_users")).all()
        )
    engine.dispose()
    assert placed == {"mia": "BO:B001", "ana": "SIPF", "root": "BO:LOCAL"}
