"""Job documents for tests, written from the API facts (not copied from the references)."""

from __future__ import annotations

import copy
from typing import Any

RECORDED_V2_ID = "4150868000005392002"
RECORDED_V21_ID = "4150868000005350003"


def _mapping(api_name: str, index: int, fmt: str | None = None) -> dict[str, Any]:
    return {
        "api_name": api_name,
        "index": index,
        "format": fmt,
        "find_by": None,
        "module": None,
        "default_value": None,
    }


# The recorded v2 answer: still running, module as a string, mappings out of order.
RECORDED_V2: dict[str, Any] = {
    "status": "INPROGRESS",
    "resource": [
        {
            "status": "INPROGRESS",
            "type": "data",
            "module": "Leads",
            "field_mappings": [
                _mapping("Owner", 1),
                _mapping("Date_3", 2, "yyyy/MM/dd"),
                _mapping("Last_Name", 0),
                _mapping("Layout", 4),
                _mapping("Mobile", 3),
            ],
            "code": "INPROGRESS",
        }
    ],
    "id": RECORDED_V2_ID,
    "callback": {"url": "https://www.zoho.com/in/crm/", "method": "post"},
    "created_by": {"id": "4150868000000225013", "name": "Patricia Boyle"},
    "ignore_empty": True,
    "operation": "insert",
    "created_time": "2021-05-13T11:00:58+05:30",
}

# The recorded v2.1 answer: finished, module as an object, a result file.
RECORDED_V21: dict[str, Any] = {
    "status": "COMPLETED",
    "character_encoding": "UTF-8",
    "resource": [
        {
            "status": "COMPLETED",
            "type": "data",
            "module": {"id": "4150868000000002175", "api_name": "Leads"},
            "code": "COMPLETED",
            "field_mappings": [
                _mapping("Owner", 2),
                _mapping("Last_Name", 0),
                _mapping("Mobile", 1),
            ],
            "file": {
                "status": "COMPLETED",
                "name": "Fil2.csv",
                "added_count": 9,
                "skipped_count": 2,
                "updated_count": 0,
                "total_count": 11,
            },
        }
    ],
    "id": RECORDED_V21_ID,
    "result": {
        "download_url": "https://download-accl.zoho.com/v2/crm/694902309/bulk-write/"
        "4150868000005350003/4150868000005350003.zip"
    },
    "callback": {"url": "https://www.example.com/callback", "method": "post"},
    "created_by": {"id": "4150868000000225013", "name": "Patricia Boyle"},
    "ignore_empty": True,
    "operation": "insert",
    "created_time": "2021-05-13T12:10:11+05:30",
}


def huge_job(resources: int = 100, mappings: int = 500) -> dict[str, Any]:
    """A v8-shaped job with ``resources`` × ``mappings`` field mappings, in reverse order."""
    doc = copy.deepcopy(RECORDED_V21)
    doc["id"] = "4150868000009999001"
    doc["resource"] = [
        {
            "status": "COMPLETED",
            "type": "data",
            "module": {"api_name": f"Module_{r}", "id": str(4150868000000000000 + r)},
            "code": "COMPLETED",
            "file_id": str(4150868000001000000 + r),
            "file_names": [f"part_{r}.csv"],
            "find_by": None,
            "ignore_empty": False,
            "field_mappings": [
                {
                    "api_name": f"Field_{m}",
                    "index": m,
                    "format": "yyyy-MM-dd" if m % 7 == 0 else None,
                    "find_by": "id" if m % 11 == 0 else None,
                    "module": "Accounts" if m % 11 == 0 else None,
                    "default_value": {"value": f"default {m}"} if m % 13 == 0 else None,
                    "parent_column_index": None,
                }
                for m in reversed(range(mappings))
            ],
            "file": {
                "status": "COMPLETED",
                "name": f"part_{r}.csv",
                "added_count": 24000,
                "updated_count": 500,
                "skipped_count": 500,
                "total_count": 25000,
            },
        }
        for r in range(resources)
    ]
    return doc
