"""An encrypted store's row counts for the comparison's passes come from the objects' footers,
decrypted with the store's key (issue 18): no scan of their rows, and none without the key."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pyarrow as pa
import pytest

from clearwatch.adapters.columnar import ParquetStore
from clearwatch.adapters.columnar_keys import DataKey, MasterKeySource
from clearwatch.adapters.engine.encrypted_scan import rows_of_objects


def _clients(rows: int) -> pa.Table:
    return pa.table(
        {"fund_account": [f"FA{i:011d}" for i in range(rows)], "balance": list(range(rows))}
    )


def test_rows_are_read_from_the_footers_of_encrypted_and_not_yet_encrypted_objects(
    tmp_path: Path,
) -> None:
    root = str(tmp_path / "columnar")
    plaintext = ParquetStore(root).put_table(_clients(7))  # before the store is encrypted
    keys = MasterKeySource(encrypt=True, key_text=base64.b64encode(os.urandom(32)).decode())
    store = ParquetStore(root, keys=MasterKeySource(key_text=keys.key_text))
    store.begin_encryption()  # a store being encrypted in place holds both forms
    encrypted = store.put_table(_clients(1_234))
    assert store.data_key is not None
    uris = [store.uri(encrypted), store.uri(plaintext)]
    assert rows_of_objects(uris, store.data_key) == {uris[0]: 1_234, uris[1]: 7}
    with pytest.raises(OSError):  # another key opens no footer of the store's
        rows_of_objects(uris[:1], DataKey(os.urandom(32)))
