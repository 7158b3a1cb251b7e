"""Random malformed packages never crash submission: every one gets a receipt."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearwatch.bootstrap import Application
from clearwatch.domain.monitor.receipt import ReceiptStatus
from tests.integration.monitor.conftest import context
from tests.support.identities import submit_as_owner
from tests.support.packages import write_package

FUNDS_HEADER = "fund_account,client_id,account_kind,bank_id,balance"
cells = st.one_of(
    st.sampled_from(["FA1", "C1", "normal", "credit", "K001", "1.00", "-0.50", "", '"', "\r\n"]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
)
rows = st.lists(st.lists(cells, min_size=0, max_size=7), max_size=6)
manifest_values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=5), st.just([]), st.just({})
)


def render(header: str, table: list[list[str]], separator: str) -> str:
    return header + separator + "".join(",".join(row) + separator for row in table)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    header=st.sampled_from([FUNDS_HEADER, FUNDS_HEADER[:-8], FUNDS_HEADER + ",x", "", "a,a"]),
    table=rows,
    separator=st.sampled_from(["\n", "\r\n", "\r"]),
    encoding=st.sampled_from(["utf-8", "gb18030"]),
    raw_tail=st.binary(max_size=6),
    field=st.sampled_from(["", "kind", "sequence", "files", "encoding", "business_date"]),
    value=manifest_values,
    fix_hashes=st.booleans(),
)
def test_any_package_gets_a_receipt(
    registered_sqlite: Application,
    tmp_path: Path,
    header: str,
    table: list[list[str]],
    separator: str,
    encoding: str,
    raw_tail: bytes,
    field: str,
    value: Any,
    fix_hashes: bool,
) -> None:
    directory = tmp_path / uuid.uuid4().hex
    text = render(header, table, separator)
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        encoding = "utf-8"
    write_package(
        directory,
        "broker_daily",
        "B001",
        "2026-11-20",
        {"client_funds.csv": text},
        encoding=encoding,
    )
    if raw_tail:
        with (directory / "client_funds.csv").open("ab") as handle:
            handle.write(raw_tail)
        if fix_hashes:
            rehash(directory)
    if field:
        document = json.loads((directory / "manifest.json").read_text())
        document[field] = value
        (directory / "manifest.json").write_text(json.dumps(document))
    receipt = submit_as_owner(registered_sqlite, directory, context(registered_sqlite))
    assert receipt.status in set(ReceiptStatus)
    if receipt.status is ReceiptStatus.REJECTED:
        assert receipt.errors and all(error.message for error in receipt.errors)
    json.dumps(receipt.to_json())
    shutil.rmtree(directory)


def rehash(directory: Path) -> None:
    import hashlib

    document = json.loads((directory / "manifest.json").read_text())
    for entry in document["files"]:
        entry["sha256"] = hashlib.sha256((directory / entry["name"]).read_bytes()).hexdigest()
    (directory / "manifest.json").write_text(json.dumps(document))
