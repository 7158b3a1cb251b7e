"""Packages over the API: streamed, hashed, size-limited, safely unpacked, the CLI's receipt;
the forged superseding package of issue 13 refused for anyone but its institution's officer."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from tests.api.support import (
    API,
    TestClient,
    audit_head,
    audit_records,
    bearer,
    client_of,
    forged_k001,
    load_world,
    new_app,
    person,
    row_counts,
    tar_of,
    write_world,
)
from tests.scenarios.test_monitor_day import DAY
from tests.support.packages import write_package

PROBLEM = "application/problem+json"


@pytest.fixture
def world(api_app: Application, tmp_path: Path) -> dict[str, Path]:
    return load_world(api_app, tmp_path / "market", run=False)


def _upload(client: TestClient, body: bytes, headers: dict[str, str], reason: str | None = None):  # type: ignore[no-untyped-def]
    params = {} if reason is None else {"reason": reason}
    headers = {**headers, "Content-Type": "application/x-tar"}
    return client.post(f"{API}/packages", content=body, headers=headers, params=params)


def _uploads_left(app: Application) -> list[str]:
    return sorted(os.listdir(app.settings.home / "uploads"))


def test_a_package_uploaded_gets_the_cli_receipt_then_a_duplicate(
    api_app: Application, client: TestClient, tmp_path: Path, world: dict[str, Path]
) -> None:
    directory = write_package(
        tmp_path / "b001-again", "broker_daily", "B001", DAY, {}, sequence=2
    )  # header-only files: a later sequence, its officer's to send
    officer = bearer(api_app, person(api_app, "B001", Role.OFFICER))
    body = tar_of(directory, gzip=True)
    first = _upload(client, body, officer, reason="restated: every client left")
    assert first.status_code == 200, first.text
    receipt = first.json()
    assert receipt["status"] == "accepted"
    assert receipt["package"]["institution_id"] == "B001" and receipt["package"]["sequence"] == 2
    assert receipt["supersedes"]["sequence"] == 1
    assert set(receipt) == {
        "status", "package", "supersedes", "received_at", "late", "rejection_id", "rows",
        "errors", "errors_truncated",
    }  # fmt: skip
    assert first.headers["upload-sha256"] == hashlib.sha256(body).hexdigest()
    again = _upload(client, tar_of(directory), officer, reason="sent twice")
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert again.json()["package"]["package_id"] == receipt["package"]["package_id"]
    assert _uploads_left(api_app) == []  # each upload's folder is gone
    assert stat.S_IMODE((api_app.settings.home / "uploads").stat().st_mode) == 0o700


def test_a_broken_package_is_rejected_with_its_receipt_naming_file_line_and_column(
    api_app: Application, client: TestClient, tmp_path: Path, world: dict[str, Path]
) -> None:
    funds = "fund_account,client_id,account_kind,bank_id,balance\nA1,c1,normal,K001,1.5\n"
    directory = write_package(
        tmp_path / "broken", "broker_daily", "B001", DAY, {"client_funds.csv": funds}, sequence=3
    )
    officer = bearer(api_app, person(api_app, "B001", Role.OFFICER))
    rejected = _upload(client, tar_of(directory), officer, reason="restated")
    assert rejected.status_code == 422
    assert rejected.headers["content-type"] == "application/json"
    [error] = rejected.json()["errors"]
    assert (error["file"], error["line"], error["column"]) == ("client_funds.csv", 2, "balance")


def _member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"x", link: str = ""):  # type: ignore[no-untyped-def]
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, io.BytesIO(data) if kind == tarfile.REGTYPE else None


def _tar(*members: tuple[tarfile.TarInfo, io.BytesIO | None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, data)
    return buffer.getvalue()


UNSAFE = {
    "symlink": (_tar(_member("manifest.json", tarfile.SYMTYPE, link="/etc/passwd")),
                "upload_member_must_be_a_regular_file"),
    "hard link": (_tar(_member("a.csv"), _member("b.csv", tarfile.LNKTYPE, link="a.csv")),
                  "upload_member_must_be_a_regular_file"),
    "device": (_tar(_member("dev", tarfile.CHRTYPE)), "upload_member_must_be_a_regular_file"),
    "fifo": (_tar(_member("pipe", tarfile.FIFOTYPE)), "upload_member_must_be_a_regular_file"),
    "sub folder": (_tar(_member("sub", tarfile.DIRTYPE), _member("sub/x.csv")),
                   "upload_member_must_be_a_regular_file"),
    "nested file": (_tar(_member("sub/x.csv")), "upload_member_name_must_be_plain"),
    "traversal": (_tar(_member("../../escaped.csv")), "upload_member_name_must_be_plain"),
    "absolute": (_tar(_member("/tmp/escaped.csv")), "upload_member_name_must_be_plain"),
    "hidden": (_tar(_member(".profile")), "upload_member_name_must_be_plain"),
    "twice": (_tar(_member("a.csv"), _member("./a.csv")), "upload_member_must_be_unique"),
    "not a tar": (b"PK\x03\x04 this is a zip, not a tar" * 40, "upload_must_be_a_tar_archive"),
    "truncated gzip": (b"\x1f\x8b\x08\x00" + b"\x00" * 40, "upload_must_be_a_tar_archive"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_an_unsafe_or_unreadable_archive_is_refused_whole_and_nothing_lands(
    api_app: Application, client: TestClient, tmp_path: Path, case: str
) -> None:
    body, rule = UNSAFE[case]
    submitter = bearer(api_app, person(api_app, "B001", Role.SUBMITTER))
    before = row_counts(api_app)
    refused = _upload(client, body, submitter)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["rule"] == rule
    assert row_counts(api_app) == before
    assert _uploads_left(api_app) == []
    assert not (tmp_path / "escaped.csv").exists() and not Path("/tmp/escaped.csv").exists()


def test_an_upload_past_the_limit_is_a_413_naming_the_limit(tmp_path: Path) -> None:
    app = new_app(tmp_path / "home", upload_limit_mb=1)
    client = client_of(app)
    submitter = bearer(app, person(app, "B001", Role.SUBMITTER))
    big = os.urandom(1024 * 1024 + 1)
    declared = _upload(client, big, submitter)
    assert declared.status_code == 413 and declared.headers["content-type"] == PROBLEM
    assert declared.json()["rule"] == "upload_must_fit_limit"
    assert "1 MB (CLEARWATCH_UPLOAD_LIMIT_MB)" in declared.json()["detail"]

    def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    streamed = client.post(  # no Content-Length: cut off while streaming
        f"{API}/packages", content=chunks(), headers=submitter
    )
    assert streamed.status_code == 413 and streamed.json()["rule"] == "upload_must_fit_limit"
    bomb = io.BytesIO()
    with tarfile.open(fileobj=bomb, mode="w:gz") as tar:
        info = tarfile.TarInfo("client_funds.csv")
        info.size = 3 * 1024 * 1024
        tar.addfile(info, io.BytesIO(b"\0" * info.size))
    unpacked = _upload(client, bomb.getvalue(), submitter)
    assert unpacked.status_code == 413, unpacked.text  # small compressed, too large unpacked
    assert os.listdir(app.settings.home / "uploads") == []
    app.dispose()


def test_a_content_digest_that_does_not_match_the_body_is_refused(
    api_app: Application, client: TestClient, tmp_path: Path, world: dict[str, Path]
) -> None:
    submitter = bearer(api_app, person(api_app, "B001", Role.SUBMITTER))
    body = tar_of(world["B001"])
    wrong = {**submitter, "Content-Digest": "sha-256=:" + "A" * 43 + "=:"}
    assert _upload(client, body, wrong).json()["rule"] == "upload_digest_must_match"
    right = base64.b64encode(hashlib.sha256(body).digest()).decode()
    matching = _upload(client, body, {**submitter, "Content-Digest": f"sha-256=:{right}:"})
    assert matching.status_code == 200 and matching.json()["status"] == "duplicate"


def test_a_forged_superseding_k001_package_is_refused_for_all_but_k001s_officer_with_reason(
    api_app: Application, client: TestClient, tmp_path: Path, world: dict[str, Path]
) -> None:
    body = tar_of(forged_k001(tmp_path))
    callers = {
        "B001 officer": person(api_app, "B001", Role.OFFICER),
        "K001 submitter": person(api_app, "K001", Role.SUBMITTER),
        "K002 officer": person(api_app, "K002", Role.OFFICER),
        "SIPF analyst": person(api_app, "SIPF", Role.ANALYST),
        "B001 back-office operator": person(api_app, "BO:B001", Role.OPERATOR),
    }
    for who, user in callers.items():
        before, head = row_counts(api_app), audit_head(api_app)
        refused = _upload(client, body, bearer(api_app, user), reason="corrected")
        assert refused.status_code == 403, (who, refused.text)
        assert row_counts(api_app) == before, who
        [denial] = audit_records(api_app, head)
        assert (denial.action, denial.actor) == ("access.denied", user), who
    officer = bearer(api_app, person(api_app, "K001", Role.OFFICER))
    before = row_counts(api_app)
    for reason in (None, "   "):
        unexplained = _upload(client, body, officer, reason=reason)
        assert unexplained.status_code == 403, reason
        assert unexplained.json()["rule"] == "reason_must_be_given"
    assert row_counts(api_app) == before
    accepted = _upload(client, body, officer, reason="bank restated its transactions")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["supersedes"]["sequence"] == 1


def test_receipts_are_listed_in_scope_and_anothers_package_is_not_found(
    api_app: Application, client: TestClient, world: dict[str, Path]
) -> None:
    b001 = bearer(api_app, person(api_app, "B001", Role.VIEWER))
    analyst = bearer(api_app, person(api_app, "SIPF", Role.ANALYST))
    mine = client.get(f"{API}/packages", headers=b001).json()
    assert {row["institution_id"] for row in mine} == {"B001"}
    every = client.get(f"{API}/packages", headers=analyst).json()
    assert {row["institution_id"] for row in every} == {"B001", "B002", "K001", "K002", "C001"}
    theirs = next(row for row in every if row["institution_id"] == "B002")
    package_id = int(theirs["reference"].removeprefix("package:"))
    head = audit_head(api_app)
    hidden = client.get(f"{API}/packages/{package_id}", headers=b001)
    missing = client.get(f"{API}/packages/999999", headers=b001)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["rule"] == missing.json()["rule"] == "package_must_exist"
    assert [r.action for r in audit_records(api_app, head)] == ["access.denied"]
    shown = client.get(f"{API}/packages/{package_id}", headers=analyst)
    assert shown.status_code == 200 and shown.json()["institution_id"] == "B002"


def test_the_world_packages_upload_again_as_duplicates_through_the_api(
    api_app: Application, client: TestClient, tmp_path: Path, world: dict[str, Path]
) -> None:
    again = write_world(tmp_path / "again")
    for institution, directory in again.items():
        submitter = bearer(api_app, person(api_app, institution, Role.SUBMITTER))
        answer = _upload(client, tar_of(directory, prefix=""), submitter)
        assert answer.status_code == 200 and answer.json()["status"] == "duplicate", institution
