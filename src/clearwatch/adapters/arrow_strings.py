"""A string array's bytes as numpy sees them: for checks over a whole column at once.

Arrow keeps a string array as one buffer of bytes and the offsets where each value starts;
numpy reads both without a copy. The row work's checks that can only clear a column (the
batch files' plain columns, the statements' formula guard) look at them instead of a regex.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

Strings = tuple[np.ndarray, np.ndarray]  # (offsets from 0, the values' bytes) of one array


def string_bytes(values: pa.Array) -> Strings | None:
    """The array's offsets, from 0, and the bytes they index (views, no copy); None for an
    array that is not `string` or holds a null (its offsets say nothing of the null's value)."""
    if values.type != pa.string() or values.null_count:
        return None
    if not len(values):  # an empty array may have no offsets buffer at all
        return np.zeros(1, np.int32), np.empty(0, np.uint8)
    _, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int32, len(values) + 1, values.offset * 4)
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer else np.empty(0, np.uint8)
    return offsets - offsets[0], data[offsets[0] : offsets[-1]]
