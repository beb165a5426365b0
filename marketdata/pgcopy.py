"""PostgreSQL's binary COPY for columns of 8-byte values: the codec and ``copy_out``.

A read comes through ``COPY (SELECT …) TO STDOUT (FORMAT BINARY)``. Every column is
NOT NULL and 8 bytes wide, so each row has the same layout (an int16 field count, then
per field an int32 length and 8 big-endian bytes) and a numpy structured dtype reads
the whole buffer at once after the 19-byte header. A ``timestamptz`` is int64
microseconds since 2000-01-01 UTC. A load writes its staging rows the same way
(``copy_binary_encode``, ``marketdata.services``).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
from django.db import DatabaseError, connection

PG_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z, PostgreSQL's timestamp origin
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
COPY_HEADER = COPY_SIGNATURE + bytes(8)  # flags (int32) = 0, header extension length (int32) = 0
COPY_TRAILER = b"\xff\xff"  # field count -1


def copy_binary_dtype(kinds: Sequence[str]) -> np.dtype:
    """The packed row dtype of a binary COPY whose fields are all 8 bytes wide.

    ``kinds``: ``'i8'`` (int8, timestamptz) or ``'f8'`` (float8) per field. Fields are
    named ``n`` (the int16 field count), ``len{i}`` (int32) and ``f{i}`` (the value),
    all big-endian as on the wire.
    """
    fields = [("n", ">i2")]
    for i, kind in enumerate(kinds):
        fields += [(f"len{i}", ">i4"), (f"f{i}", f">{kind}")]
    return np.dtype(fields)


def copy_binary_encode(columns: Sequence[np.ndarray], kinds: Sequence[str]) -> bytes:
    """A complete binary COPY stream (header, rows, trailer) of equally long columns."""
    rec = np.empty(columns[0].shape[0], dtype=copy_binary_dtype(kinds))
    rec["n"] = len(kinds)
    for i, col in enumerate(columns):
        rec[f"len{i}"] = 8
        rec[f"f{i}"] = col
    return COPY_HEADER + rec.tobytes() + COPY_TRAILER


def copy_binary_decode(buffer: bytes | bytearray | memoryview, kinds: Sequence[str]) -> np.ndarray:
    """The rows of a binary COPY stream as a structured array (a view over ``buffer``).

    Raises ``ValueError`` if the stream is not binary COPY, or if a row is not made of
    ``len(kinds)`` non-NULL 8-byte fields.
    """
    dtype = copy_binary_dtype(kinds)
    view = memoryview(buffer)
    if bytes(view[:11]) != COPY_SIGNATURE:
        raise ValueError("not a binary COPY stream (bad signature)")
    (extension,) = struct.unpack_from(">i", view, 15)
    body = len(view) - 19 - extension - len(COPY_TRAILER)
    if body < 0 or bytes(view[-2:]) != COPY_TRAILER or body % dtype.itemsize:
        raise ValueError(
            f"binary COPY stream of {len(view)} bytes is not whole rows of {dtype.itemsize} bytes "
            f"({len(kinds)} fields of 8 bytes)"
        )
    rows = body // dtype.itemsize
    rec = np.frombuffer(view, dtype=dtype, count=rows, offset=19 + extension)
    # One pass over the framing fields only (field count, lengths), compared as a record.
    names = ["n", *(f"len{i}" for i in range(len(kinds)))]
    framing = np.dtype(
        {
            "names": names,
            "formats": [dtype.fields[name][0] for name in names],
            "offsets": [dtype.fields[name][1] for name in names],
            "itemsize": dtype.itemsize,
        }
    )
    expected = np.array([(len(kinds), *([8] * len(kinds)))], dtype=framing)
    if rows and not (np.frombuffer(view, dtype=framing, count=rows, offset=19 + extension) == expected).all():
        raise ValueError(f"binary COPY rows are not {len(kinds)} non-NULL 8-byte fields")
    return rec


def copy_out(sql: str, params: Sequence, kinds: Sequence[str]) -> np.ndarray:
    """Run ``COPY (sql) TO STDOUT (FORMAT BINARY)`` on Django's connection and decode it.

    ``sql`` must select ``len(kinds)`` NOT NULL 8-byte columns. Returns the structured
    array of ``copy_binary_decode``.
    """
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor  # the psycopg cursor under Django's wrapper
        pgconn = cursor.connection.pgconn
        buffer = bytearray()
        with (
            connection.wrap_database_errors,
            cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy,
        ):
            # psycopg's Copy.read() costs some 3 µs a row in its non-blocking wait loop,
            # three seconds for a million rows; a blocking libpq loop costs a tenth of
            # that. The loop stops at the binary trailer and hands the end of the COPY
            # (and its final result) back to psycopg.
            get_copy_data = pgconn.get_copy_data
            header_and_trailer = len(COPY_HEADER) + 2
            while True:
                nbytes, data = get_copy_data(0)
                if nbytes <= 0:
                    _copy_out_failed(pgconn)
                buffer += data
                # The trailer comes alone, or right after the header when no row matched.
                # (Tested on nbytes first: this runs once per row, a million times a read.)
                if nbytes == 2 and data == COPY_TRAILER:
                    break
                if (
                    nbytes == header_and_trailer
                    and len(buffer) == nbytes
                    and bytes(data[-2:]) == COPY_TRAILER
                ):
                    break
            if copy.read():
                raise DatabaseError("COPY sent data after its binary trailer")
    return copy_binary_decode(buffer, kinds)


def _copy_out_failed(pgconn) -> None:
    """The COPY ended without its trailer: the server sent an error. Collect the final
    results here so psycopg does not ask libpq for more copy data, and raise."""
    from psycopg import errors
    from psycopg.pq import ExecStatus

    error = None
    while (result := pgconn.get_result()) is not None:
        if error is None and result.status != ExecStatus.COMMAND_OK:
            error = errors.error_from_result(result)
    raise error or DatabaseError("COPY ended without its binary trailer")


def block_from_records(rec: np.ndarray, width: int) -> np.ndarray:
    """(6, n) float64 block from decoded rows: field 0 timestamptz → int64 ms, 1..5 floats."""
    block = np.empty((width, rec.shape[0]), dtype=np.float64)
    block[0].view(np.int64)[:] = rec["f0"] // 1000 + PG_EPOCH_MS
    for i in range(1, width):
        block[i] = rec[f"f{i}"]
    return block
