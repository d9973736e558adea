"""Hostile result ZIPs, built in the test's temporary directory (never committed)."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path

HEADER = ["Last_Name", "Email", "Company", "STATUS", "RECORD_ID", "ERRORS"]


def zip_bytes(
    members: Iterable[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    """A ZIP of these members, in order; the same name twice is allowed."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": on purpose
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, data in members:
                archive.writestr(name, data)
    return buffer.getvalue()


def csv_bytes(rows: Iterable[list[str]], header: list[str] = HEADER) -> bytes:
    lines = [",".join(header)] + [",".join(row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def failed_rows(n: int, start: int = 1) -> list[list[str]]:
    return [
        [f"Name{i}", f"n{i}@example.com", "", "skipped", "", "MANDATORY_NOT_FOUND-Company"]
        for i in range(start, start + n)
    ]


def _patch(data: bytes, local_at: int, central_at: int, value: int, size: int = 2) -> bytes:
    """Set a field in every local header (offset ``local_at``) and central directory entry
    (offset ``central_at``) of the ZIP."""
    out = bytearray(data)
    fmt = "<H" if size == 2 else "<I"
    for signature, at in ((b"PK\x03\x04", local_at), (b"PK\x01\x02", central_at)):
        pos = out.find(signature)
        while pos != -1:
            old = struct.unpack_from(fmt, out, pos + at)[0]
            struct.pack_into(fmt, out, pos + at, value(old) if callable(value) else value)
            pos = out.find(signature, pos + 4)
    return bytes(out)


def encrypted(data: bytes) -> bytes:
    """The ZIP with the "encrypted" flag set on every member."""
    return _patch(data, 6, 8, lambda flags: flags | 0x1)  # type: ignore[arg-type]


def compression_method(data: bytes, method: int) -> bytes:
    """The ZIP claiming ``method`` (9: Deflate64, 99: AES) for every member."""
    return _patch(data, 8, 10, method)


def many_rows_zip(path: Path, rows: int, *, failed_every: int = 1) -> Path:
    """A result ZIP with ``rows`` rows, written as a stream (1.5 M rows: ~120 MB of CSV,
    a few MB compressed), every ``failed_every``-th one skipped."""
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("Leads.csv", "w", force_zip64=True) as member,
    ):
        member.write((",".join(HEADER) + "\r\n").encode())
        batch = []
        for i in range(1, rows + 1):
            if i % failed_every == 0:
                batch.append(f"Name{i},n{i}@example.com,,skipped,,MANDATORY_NOT_FOUND-Company\r\n")
            else:
                batch.append(f"Name{i},n{i}@example.com,Acme {i % 977},added,{4150868000 + i},\r\n")
            if len(batch) == 10_000:
                member.write("".join(batch).encode())
                batch = []
        member.write("".join(batch).encode())
    return path
