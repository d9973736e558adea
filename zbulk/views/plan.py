"""``--dry-run``: the requests ``job import`` or ``job retry`` would send, as text.

Every line is built from ``safe()`` text: file and ZIP member names, module and field
names and the job document's values (``retry``) are data, and arrive here unchecked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from rich.text import Text

from zbulk.output import safe


def dry_run_view(what: str, requests: list[dict[str, Any]], which: str = "") -> Iterator[Text]:
    yield Text(safe(f"# dry run: {what}; nothing is sent. The requests{which}, in order:"))
    for request in requests:
        yield Text("")
        yield Text(safe(f"{request['method']} {request['url']}"))
        for name, value in request["headers"].items():
            yield Text(safe(f"{name}: {value}"))
        if "form" in request:
            f = request["form"]["file"]
            yield Text("")
            yield Text(
                safe(
                    f'[form field "file": {f["filename"]}, {f["bytes"]:,} bytes of ZIP '
                    f"holding {f['csv']}: {f['csv_bytes']:,} bytes, {f['records']:,} records]"
                )
            )
        if "body" in request:
            yield Text("")
            # ensure_ascii=False keeps names readable; safe() then writes out what a
            # terminal could act on (C1 controls, bidi overrides) that JSON leaves as is
            # (split at line feeds only: splitlines() would also split at U+0085).
            for line in json.dumps(
                request["body"], indent=2, ensure_ascii=False, allow_nan=False
            ).split("\n"):
                yield Text(safe(line))
