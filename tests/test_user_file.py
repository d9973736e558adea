"""The one reader of the user's files (zbulk.user_file): encodings, delimiters, ZIPs,
records with their byte offsets, and memory that does not grow with the file."""

from __future__ import annotations

import codecs
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zbulk.errors import ExitCode, UsageError
from zbulk.import_plan import PreflightError, inspect, prepare
from zbulk.user_file import (
    CHUNK,
    MAX_HEADER_BYTES,
    MAX_RECORD_BYTES,
    Encoding,
    Problem,
    Problems,
    RecordTooLong,
    UserFileError,
    detect_delimiter,
    detect_encoding,
    open_user_files,
    text_codec,
)


def read(path: Path, **options: object) -> tuple[list[tuple[int, int, int, int, list[str]]], list]:
    [f] = open_user_files(path, what="FILE", **options)  # type: ignore[arg-type]
    blanks: list[tuple[int, int]] = []
    with f.records(on_blank=lambda line, n: blanks.append((line, n))) as records:
        found = [(r.number, r.line, r.offset, r.length, r.cells) for r in records]
    return found, blanks


def test_codecs_are_text_codecs_only() -> None:
    assert text_codec("UTF8") == "utf-8" and text_codec("windows-1252") == "cp1252"
    assert text_codec("utf-16") == "utf-16" and text_codec("shift_jis") == "shift_jis"
    for name in (
        "rot13",
        "base64",
        "hex",
        "zlib",
        "bz2",
        "idna",
        "punycode",
        "undefined",
        "unicode_escape",
        "raw_unicode_escape",
        "cp037",
    ):
        with pytest.raises(UsageError, match="not a text encoding"):
            text_codec(name)
    for name in ("klingon", "", "utf-8\x00", 5, None, "x" * 41):
        with pytest.raises(UsageError) as caught:
            text_codec(name, "character_encoding")
        assert caught.value.exit_code == ExitCode.USAGE
        assert "character_encoding" in caught.value.message


@pytest.mark.parametrize(
    ("data", "given", "codec", "bom"),
    [
        (codecs.BOM_UTF8 + b"a,b", None, "utf-8", codecs.BOM_UTF8),
        (codecs.BOM_UTF16_LE + "a,b".encode("utf-16-le"), None, "utf-16-le", codecs.BOM_UTF16_LE),
        (
            codecs.BOM_UTF16_BE + "a,b".encode("utf-16-be"),
            "utf-16",
            "utf-16-be",
            codecs.BOM_UTF16_BE,
        ),
        (codecs.BOM_UTF32_LE + "a,b".encode("utf-32-le"), None, "utf-32-le", codecs.BOM_UTF32_LE),
        (
            codecs.BOM_UTF32_BE + "a,b".encode("utf-32-be"),
            "utf-32",
            "utf-32-be",
            codecs.BOM_UTF32_BE,
        ),
        ("a,b".encode("utf-16-le"), None, "utf-16-le", b""),
        ("a,b".encode("utf-16-be"), "utf-16", "utf-16-be", b""),
        ("a,b".encode("utf-32-le"), None, "utf-32-le", b""),
        ("a,b".encode("utf-32-be"), "utf-32", "utf-32-be", b""),
        (b"a,b", None, "utf-8", b""),
        (b"a,\xe9", "latin-1", "iso8859-1", b""),
    ],
)
def test_encoding_is_found_once(data: bytes, given: str | None, codec: str, bom: bytes) -> None:
    assert detect_encoding(data, given) == Encoding(codec, bom)


def test_a_bom_that_contradicts_the_encoding_named_is_an_error() -> None:
    with pytest.raises(UserFileError, match="byte order mark, but --encoding says cp1252"):
        detect_encoding(codecs.BOM_UTF16_LE + b"a\x00", "cp1252")


def test_the_delimiter_rule() -> None:
    assert detect_delimiter("a;b;c") == ";" and detect_delimiter('"a;b",c') == ","
    assert detect_delimiter("a|b:c|d") == "|" and detect_delimiter("abc") == ","
    assert detect_delimiter("a;b,c") == ","  # a tie: the comma


def test_records_with_offsets_lay_end_to_end(tmp_path: Path) -> None:
    data = b'a,b\r\n1,2\r\n\r\n\r\n3,"x\r\ny"\n4,5\r6,7\n\n\n'
    path = tmp_path / "a.csv"
    path.write_bytes(data)
    found, blanks = read(path)
    assert [(n, line, cells) for n, line, _, _, cells in found] == [
        (1, 2, ["1", "2"]),
        (2, 5, ["3", "x\r\ny"]),
        (3, 7, ["4", "5"]),
        (4, 8, ["6", "7"]),
    ]
    assert blanks == [(3, 2)]  # the blank lines at the end are no problem
    assert [data[o : o + n] for _, _, o, n, _ in found] == [
        b"1,2\r\n",
        b'3,"x\r\ny"\n',
        b"4,5\r",
        b"6,7\n",
    ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.lists(
            st.text(
                st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=8
            ),
            min_size=1,
            max_size=4,
        ),
        max_size=12,
    ),
    ends=st.lists(st.sampled_from(["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"]), min_size=1),
    codec=st.sampled_from(["utf-8", "utf-16-le", "utf-32-be", "cp1252"]),
    bom=st.booleans(),
)
def test_records_are_the_file_cut_on_their_boundaries(tmp_path, rows, ends, codec, bom) -> None:
    import csv
    import io

    if codec == "cp1252":
        rows = [[c.encode("cp1252", "replace").decode("cp1252") for c in r] for r in rows]
        bom = False
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="")
    lines = ["Name,Other"]
    for n, row in enumerate(rows):
        writer.writerow(row)
        lines.append(text.getvalue() + ends[n % len(ends)])
        text.seek(0)
        text.truncate()
    body = "Name,Other" + ends[0] + "".join(lines[1:])
    prefix = (
        {
            "utf-8": codecs.BOM_UTF8,
            "utf-16-le": codecs.BOM_UTF16_LE,
            "utf-32-be": codecs.BOM_UTF32_BE,
        }.get(codec, b"")
        if bom
        else b""
    )
    data = prefix + body.encode(codec)
    path = tmp_path / "p.csv"
    path.write_bytes(data)
    [f] = open_user_files(path, what="FILE", encoding=None if codec != "cp1252" else "cp1252")
    with f.records() as records:
        got = list(records)
    for r in got:
        piece = data[r.offset : r.offset + r.length]
        assert piece.decode(f.encoding.codec) == r.text
    expected = list(csv.reader(io.StringIO(body, newline="")))[1:]
    assert [r.cells for r in got] == [e for e in expected if e]
    assert [r.number for r in got] == list(range(1, len(got) + 1))


def test_blank_runs_longer_than_a_chunk(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"a,b\r\n" + b"\r\n" * (CHUNK + 7) + b"1,2\r\n" + b"\n" * (3 * CHUNK))
    found, blanks = read(path)
    assert blanks == [(2, CHUNK + 7)]
    assert found == [(1, CHUNK + 9, 5 + 2 * (CHUNK + 7), 5, ["1", "2"])]


def test_a_cr_at_a_chunk_boundary_is_one_line_end(tmp_path: Path) -> None:
    head = b"a,b\n" + b"x" * (CHUNK - 4 - 3) + b",y\r"  # the CR is the chunk's last byte
    path = tmp_path / "a.csv"
    path.write_bytes(head + b"\n1,2\n")
    found, blanks = read(path)
    assert [n for n, *_ in found] == [1, 2] and blanks == []
    assert found[0][3] == CHUNK - 4 + 1


def test_a_header_without_line_end_longer_than_its_cap_stops_the_reading(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"x" * (3 * MAX_HEADER_BYTES))
    tracemalloc.start()
    try:
        with pytest.raises(RecordTooLong, match="header row"):
            open_user_files(path, what="FILE")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_HEADER_BYTES


def test_a_record_longer_than_25_mb_stops_the_reading(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    with path.open("wb") as fh:
        fh.write(b"a,b\n1,")
        for _ in range(MAX_RECORD_BYTES // CHUNK + 2):
            fh.write(b"y" * CHUNK)
        fh.write(b"\n2,3\n")
    [f] = open_user_files(path, what="FILE")
    with f.records() as records, pytest.raises(RecordTooLong, match="line 2 is longer than"):
        next(records)


def test_a_quoted_record_over_many_lines_is_bounded_too(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    line = b"z" * (CHUNK - 1) + b"\n"
    with path.open("wb") as fh:
        fh.write(b'a,b\n1,"')
        for _ in range(MAX_RECORD_BYTES // CHUNK + 2):
            fh.write(line)
        fh.write(b'"\n')
    [f] = open_user_files(path, what="FILE")
    with f.records() as records, pytest.raises((RecordTooLong, UserFileError)):
        next(records)


def test_problems_are_capped_per_kind_and_counted() -> None:
    problems = Problems(per_kind=3)
    for n in range(1000):
        problems.add(Problem("empty record", record=n, kind="empty"))
    problems.add(Problem("other"))
    assert problems.total == 1001 and len(problems.kept) == 4
    assert problems.counts == {"empty": 1000, "other": 1}


def test_a_preflight_of_many_bad_records_keeps_a_few(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("Last_Name,Email\n" + ",\n" * 20_000 + "\n" * 1_000_000 + "x,y\n")
    tracemalloc.start()
    try:
        with pytest.raises(PreflightError) as caught:
            prepare(path, module="Leads", operation="insert")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.problems.total == 20_001 and len(caught.value.problems.kept) == 21
    assert peak < 8 * CHUNK


def test_a_zip_member_over_25_mb_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("big.csv", "w") as fh:
        fh.write(b"Last_Name\n")
        for _ in range(26):
            fh.write(b"x\n" * (1 << 19))
    with pytest.raises(UsageError, match="uncompressed: Zoho takes at most 25 MB"):
        inspect(path)


def test_an_encrypted_member_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.csv", "Last_Name\nx\n")
    data = bytearray(path.read_bytes())
    for magic, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = data.find(magic) + at
        data[pos] |= 1
    path.write_bytes(bytes(data))
    with pytest.raises(UserFileError, match="is encrypted"):
        inspect(path)


# -- one door ------------------------------------------------------------------------------

READERS = {
    ("csv", "reader"),
    ("csv", "DictReader"),
    ("csv", "Sniffer"),
    ("zipfile", "is_zipfile"),
    ("io", "TextIOWrapper"),
    ("codecs", "getincrementaldecoder"),
    ("codecs", "lookup"),
    ("codecs", "getreader"),
    ("codecs", "open"),
}
# Who else may read CSVs, ZIPs and encodings, and why:
ALLOWED = {
    "user_file.py": "the one reader of the user's files",
    "result_file.py": "Zoho's result file (a ZIP from the download host), not the user's file",
    "sandbox": "the sandbox is a stand-in for Zoho's servers: it reads what zbulk uploaded",
    "jobs/merged.py": "each part's result file from Zoho (a ZIP from the download host); the "
    "user's rows come through zbulk.user_file",
}


def _calls(tree: object) -> list[tuple[str, int]]:
    import ast

    found = []
    for node in ast.walk(tree):  # type: ignore[arg-type]
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value
        if isinstance(owner, ast.Name) and (owner.id, node.func.attr) in READERS:
            found.append((f"{owner.id}.{node.func.attr}", node.lineno))
        if isinstance(owner, ast.Name) and (owner.id, node.func.attr) == ("zipfile", "ZipFile"):
            modes = [a.value for a in node.args[1:2] if isinstance(a, ast.Constant)]
            modes += [
                k.value.value
                for k in node.keywords
                if k.arg == "mode" and isinstance(k.value, ast.Constant)
            ]
            if not modes or modes[0] == "r":
                found.append(("zipfile.ZipFile (read)", node.lineno))
    return found


def test_only_user_file_reads_the_users_files() -> None:
    import ast

    root = Path(__file__).resolve().parent.parent / "zbulk"
    strays = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative in ALLOWED or relative.split("/")[0] in ALLOWED:
            continue
        for call, line in _calls(ast.parse(path.read_text(encoding="utf-8"))):
            strays.append(f"zbulk/{relative}:{line}: {call}")
    assert strays == [], "read the user's files through zbulk.user_file"


def test_the_door_test_finds_a_stray_reader() -> None:
    import ast

    stray = "import csv, zipfile\ncsv.reader(x)\nzipfile.ZipFile(p)\nzipfile.ZipFile(p, 'w')\n"
    assert _calls(ast.parse(stray)) == [("csv.reader", 2), ("zipfile.ZipFile (read)", 3)]


def test_problems_of_endless_kinds_stay_bounded() -> None:
    problems = Problems(per_kind=2)
    for n in range(10_000):
        problems.add(Problem(f"header 'h{n}' repeats column 1"))
    assert problems.total == 10_000 and len(problems.kept) <= 2 * 201
    assert len(problems.counts) == 201
