"""Property tests: job documents from the documented schema, with random nulls, wrong
types, unicode, rich markup and terminal escape sequences. Rendering never crashes,
never lets an escape sequence from the data reach the terminal, and --json is lossless."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zbulk.client import Fetched
from zbulk.models import Job
from zbulk.output import Output, _inert, json_line
from zbulk.views.job import job_view

NOW = datetime(2026, 11, 29, tzinfo=UTC)

hostile = st.sampled_from(
    [
        "[bold red]x[/bold red]",
        "[/]",
        "[link=file:///etc/passwd]x[/link]",
        "\x1b[2J",
        "\x1b]0;title\x07",
        "\x9b31m",
        "\r",
        "\x08\x08",
        "\u202e",
        "\x00",
        ":smile:",
        "名前",
        "e\u0301",
        "🧪",
        "\t",
        "\n",
        "[",
        "\\",
        "%s",
        "{0}",
    ]
)
strings = st.one_of(
    st.text(max_size=20),
    hostile,
    st.lists(st.one_of(st.text(max_size=5), hostile), max_size=4).map("".join),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    strings,
)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(strings, inner, max_size=3)
    ),
    max_leaves=8,
)
statuses = st.one_of(
    st.sampled_from(["ADDED", "INPROGRESS", "IN PROGRESS", "COMPLETED", "FAILED", "SKIPPED"]),
    strings,
    st.none(),
)
counts = st.one_of(st.integers(-5, 30_000), st.integers(0, 30_000).map(str), scalars)


def maybe(strategy):
    """The documented value, or null, or a value of the wrong type."""
    return st.one_of(strategy, st.none(), anything)


mapping = st.fixed_dictionaries(
    {},
    optional={
        "api_name": maybe(strings),
        "index": maybe(st.integers(-1, 600)),
        "format": maybe(strings),
        "find_by": maybe(strings),
        "module": maybe(strings),
        "default_value": maybe(
            st.dictionaries(st.sampled_from(["value", "name", "module"]), anything, max_size=2)
        ),
        "parent_column_index": maybe(st.integers(0, 50)),
        "brand_new": anything,
    },
)
file_info = st.fixed_dictionaries(
    {},
    optional={
        "status": maybe(statuses),
        "name": maybe(strings),
        "added_count": counts,
        "updated_count": counts,
        "skipped_count": counts,
        "total_count": counts,
    },
)
module = st.one_of(
    strings, st.fixed_dictionaries({"api_name": maybe(strings), "id": maybe(strings)})
)
resource = st.fixed_dictionaries(
    {},
    optional={
        "status": maybe(statuses),
        "code": maybe(strings),
        "type": maybe(strings),
        "module": maybe(module),
        "field_mappings": maybe(st.lists(maybe(mapping), max_size=6)),
        "file": maybe(file_info),
        "file_id": maybe(strings),
        "file_names": maybe(st.lists(maybe(strings), max_size=3)),
        "find_by": maybe(strings),
        "ignore_empty": maybe(st.booleans()),
        "unexpected": anything,
    },
)
job_doc = st.fixed_dictionaries(
    {},
    optional={
        "id": maybe(st.from_regex(r"\A[0-9]{19}\Z")),
        "status": maybe(statuses),
        "operation": maybe(st.sampled_from(["insert", "update", "upsert"])),
        "created_time": maybe(
            st.one_of(st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()), strings)
        ),
        "created_by": maybe(st.fixed_dictionaries({"id": maybe(strings), "name": maybe(strings)})),
        "callback": maybe(st.fixed_dictionaries({"url": maybe(strings), "method": maybe(strings)})),
        "ignore_empty": maybe(st.booleans()),
        "character_encoding": maybe(strings),
        "result": maybe(st.fixed_dictionaries({"download_url": maybe(strings)})),
        "resource": maybe(st.lists(maybe(resource), max_size=3)),
        "new_top_level": anything,
    },
)

# What rich itself may write: SGR colour codes. Anything else starting with ESC, any C1
# control, and any other C0 control but newline would have come from the data.
SGR = re.compile(r"\x1b\[[0-9;]*m")
FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=job_doc, terminal=st.booleans(), width=st.integers(20, 200))
def test_show_never_crashes_nor_leaks_escapes(doc, terminal, width) -> None:
    buf = io.StringIO()
    out = Output(stdout=buf, force_terminal=terminal, width=width)
    for part in job_view(Job.read(doc), NOW):
        out.print(part)
    text = SGR.sub("", buf.getvalue())
    assert not FORBIDDEN.search(text), repr(text)


@settings(max_examples=100, deadline=None)
@given(
    value=anything,
    indent=st.sampled_from([None, 0, 1, "\t", " \r\n"]),
    item=st.sampled_from([",", ", ", " ,", ",\n"]),
    key=st.sampled_from([":", ": ", " :"]),
    ends=st.sampled_from(["", " ", "\n", "\r\n\t "]),
)
def test_json_line_takes_out_exactly_the_whitespace_between_tokens(
    value, indent, item, key, ends
) -> None:
    """However the body is spaced, the line is the compact spelling of it; a compact body
    (with strings that hold ", " or ": " or spaces) comes out as it went in, less escapes."""
    compact = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    spaced = (
        ends + json.dumps(value, ensure_ascii=False, indent=indent, separators=(item, key)) + ends
    )
    line = json_line(Fetched(value, compact.encode()))
    assert json_line(Fetched(value, spaced.encode())) == line
    assert line == _inert(compact)  # the escapes json_line writes, and nothing else


@settings(max_examples=150, deadline=None)
@given(doc=job_doc)
def test_json_is_lossless_and_inert(doc) -> None:
    raw = json.dumps(doc).encode()
    line = json_line(Fetched(json.loads(raw), raw))
    assert "\n" not in line
    assert not FORBIDDEN.search(line)
    assert json.loads(line) == json.loads(raw)
