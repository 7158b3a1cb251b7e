"""Encryption at rest of the columnar store: no client identifier in the stored bytes, the
same rows read back with the key, a refusal by the setting's name without it."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clearwatch.adapters.columnar import ColumnarIntegrityError, ParquetStore
from clearwatch.adapters.columnar_keys import (
    KEYRING_NAME,
    ColumnarKeyError,
    MasterKeySource,
    create_master_key_file,
)
from clearwatch.bootstrap import build_application
from clearwatch.config import Settings
from clearwatch.domain.shared.errors import ConfigurationError

FUND_ACCOUNT = "FA20261120777"
CLIENT_ID = "330102199001017777"


def clients(rows: int = 2_000) -> pa.Table:
    """Client rows with one known fund account and client id among generated ones.

    The known row comes first, so that compression cannot spell it as a reference to earlier
    bytes: in a plaintext object it is there, whole, to be found (the last test shows it)."""
    accounts = [FUND_ACCOUNT] + [f"FA{i:011d}" for i in range(rows - 1)]
    ids = [CLIENT_ID] + [f"3301021990{i:08d}" for i in range(rows - 1)]
    kinds = ["normal", "credit"] * (rows // 2) + ["normal"] * (rows % 2)
    return pa.table(
        {"fund_account": accounts, "client_id": ids, "account_kind": kinds, "balance": range(rows)}
    )


def _key_file(tmp_path: Path, name: str = "master.key") -> Path:
    path = tmp_path / "keys" / name
    create_master_key_file(path)
    return path


def _encrypted(root: Path, key_file: Path) -> ParquetStore:
    return ParquetStore(str(root), keys=MasterKeySource(encrypt=True, key_file=key_file))


def _all_bytes(root: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file())


def test_stored_bytes_hold_no_client_identifier_and_read_back_exactly(tmp_path: Path) -> None:
    store = _encrypted(tmp_path / "col", _key_file(tmp_path))
    table = clients()
    digest = store.put_table(table, dictionary_columns=["account_kind"])
    stored = _all_bytes(tmp_path / "col")  # the object and the keyring, as a thief finds them
    for identifier in (FUND_ACCOUNT, CLIENT_ID, "fund_account", "client_id", "normal"):
        assert identifier.encode() not in stored, identifier
    assert store.read_table(digest).equals(table, check_metadata=True)
    # The same rows in a plaintext store are there for anyone to read: the test can see them.
    plain = ParquetStore(str(tmp_path / "plain"))
    plain.put_table(table, dictionary_columns=["account_kind"])
    found = _all_bytes(tmp_path / "plain")
    assert FUND_ACCOUNT.encode() in found and CLIENT_ID.encode() in found


def test_equal_content_is_one_object_and_other_content_another(tmp_path: Path) -> None:
    store = _encrypted(tmp_path / "col", _key_file(tmp_path))
    first = store.put_table(clients())
    assert store.put_table(clients()) == first  # a duplicate package is still found
    with store.writer(clients().schema) as writer:
        for batch in clients().to_batches():
            writer.write(batch)
    assert writer.digest == first
    assert store.put_table(clients(2_001)) != first
    assert len(store.names()) == 2
    assert not any((tmp_path / "col" / "tmp").iterdir())


def test_a_store_without_its_key_refuses_to_start_naming_the_setting(tmp_path: Path) -> None:
    key_file = _key_file(tmp_path)
    _encrypted(tmp_path / "col", key_file).put_table(clients())
    with pytest.raises(ColumnarKeyError, match="CLEARWATCH_MASTER_KEY_FILE"):
        ParquetStore(str(tmp_path / "col"))
    other = MasterKeySource(key_file=_key_file(tmp_path, "other.key"))
    with pytest.raises(ColumnarKeyError, match="does not open the data key"):
        ParquetStore(str(tmp_path / "col"), keys=other)
    # The application refuses the same way, on its first use of the store.
    settings = Settings.from_environment({"CLEARWATCH_COLUMNAR_ROOT": str(tmp_path / "col")})
    with pytest.raises(ConfigurationError, match="CLEARWATCH_MASTER_KEY"):
        _ = build_application(settings).columnar
    # Switching encryption off does not make an encrypted store plaintext.
    assert ParquetStore(str(tmp_path / "col"), keys=MasterKeySource(key_file=key_file)).data_key


def test_a_key_file_others_may_read_is_refused(tmp_path: Path) -> None:
    key_file = _key_file(tmp_path)
    key_file.chmod(0o644)
    with pytest.raises(ColumnarKeyError, match="chmod 600"):
        _encrypted(tmp_path / "col", key_file).put_table(clients())


def test_a_plaintext_store_is_not_encrypted_in_place(tmp_path: Path) -> None:
    ParquetStore(str(tmp_path / "col")).put_table(clients())
    with pytest.raises(ColumnarKeyError, match="CLEARWATCH_ENCRYPT_AT_REST=1"):
        _encrypted(tmp_path / "col", _key_file(tmp_path))


def test_an_object_moved_or_changed_is_refused_on_read(tmp_path: Path) -> None:
    store = _encrypted(tmp_path / "col", _key_file(tmp_path))
    first, second = store.put_table(clients()), store.put_table(clients(50))
    shutil.copyfile(store.object_path(first), store.object_path(second))
    with pytest.raises(ColumnarIntegrityError, match="holds another object"):
        store.read_table(second)
    with pytest.raises(ColumnarIntegrityError):
        store.verify(second)
    path = Path(store.object_path(first))
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ColumnarIntegrityError):
        store.read_table(first)


def test_rotation_rewraps_the_data_key_and_rewrites_no_object(tmp_path: Path) -> None:
    old_file, new_file = _key_file(tmp_path), _key_file(tmp_path, "new.key")
    store = _encrypted(tmp_path / "col", old_file)
    digest = store.put_table(clients())
    object_bytes = Path(store.object_path(digest)).read_bytes()
    keyring = (tmp_path / "col" / KEYRING_NAME).read_bytes()
    new_master = base64.b64decode(new_file.read_text())
    old_id, new_id = store.rotate_master_key(new_master)
    assert old_id != new_id and (tmp_path / "col" / KEYRING_NAME).read_bytes() != keyring
    assert Path(store.object_path(digest)).read_bytes() == object_bytes
    with pytest.raises(ColumnarKeyError, match=f"sealed under master key {new_id}"):
        ParquetStore(str(tmp_path / "col"), keys=MasterKeySource(key_file=old_file))
    reopened = ParquetStore(str(tmp_path / "col"), keys=MasterKeySource(key_file=new_file))
    assert reopened.read_table(digest).equals(clients())


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"CLEARWATCH_ENCRYPT_AT_REST": "1"}, "needs a master key"),
        ({"CLEARWATCH_MASTER_KEY": "bm90IGEga2V5"}, "base64 of 32 bytes"),
        ({"CLEARWATCH_MASTER_KEY_FILE": "/nonexistent/master.key"}, "names no file"),
        ({"CLEARWATCH_ENCRYPT_AT_REST": "1", "CLEARWATCH_ENGINE": "spark"}, "spark cannot"),
    ],
)
def test_encryption_settings_are_refused_by_name(
    environment: dict[str, str], named: str, tmp_path: Path
) -> None:
    if environment.get("CLEARWATCH_ENGINE") == "spark":
        environment = {**environment, "CLEARWATCH_MASTER_KEY": _key_text()}
    with pytest.raises(ConfigurationError, match=named) as refused:
        Settings.from_environment(environment)
    assert "bm90IGEga2V5" not in str(refused.value)  # a key's text is never shown


def test_both_key_settings_at_once_are_refused(tmp_path: Path) -> None:
    environment = {
        "CLEARWATCH_MASTER_KEY": _key_text(),
        "CLEARWATCH_MASTER_KEY_FILE": str(_key_file(tmp_path)),
    }
    with pytest.raises(ConfigurationError, match="not both"):
        Settings.from_environment(environment)
    settings = Settings.from_environment({"CLEARWATCH_MASTER_KEY": _key_text()})
    assert "CLEARWATCH_MASTER_KEY" not in repr(settings) and settings.master_key not in repr(
        settings
    )


def _key_text() -> str:
    return base64.b64encode(os.urandom(32)).decode("ascii")


def test_encrypted_objects_are_zstd_so_that_readers_decrypt_fewer_bytes(tmp_path: Path) -> None:
    """DuckDB decrypts at about 120 MiB/s of ciphertext: an encrypted object's bytes are its
    readers' cost, so it is compressed harder than a plaintext one (bench/README.md)."""
    store = _encrypted(tmp_path / "col", _key_file(tmp_path))
    table = clients(20_000)
    digest = store.put_table(table, dictionary_columns=["account_kind"])
    plain = ParquetStore(str(tmp_path / "plain"))
    plain_digest = plain.put_table(table, dictionary_columns=["account_kind"])
    key = store.data_key
    assert key is not None
    encrypted = pq.ParquetFile(store.object_path(digest), decryption_properties=key.decryption())
    codecs = {encrypted.metadata.row_group(0).column(i).compression for i in range(4)}
    assert codecs == {"ZSTD"}
    plain_codecs = pq.ParquetFile(plain.object_path(plain_digest)).metadata.row_group(0)
    assert plain_codecs.column(0).compression == "SNAPPY"
    encrypted_size = Path(store.object_path(digest)).stat().st_size
    assert encrypted_size < Path(plain.object_path(plain_digest)).stat().st_size
    assert store.read_table(digest).equals(table)
