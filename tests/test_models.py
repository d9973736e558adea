from __future__ import annotations

import copy

import pytest
from docs import RECORDED_V2, RECORDED_V21, huge_job

from zbulk.models import Job, boolean, integer, is_finished, status_key, text


def test_recorded_v2_in_progress() -> None:
    job = Job.read(RECORDED_V2)
    assert job.id == "4150868000005392002"
    assert job.status == "INPROGRESS" and not job.finished
    assert job.created_by_name == "Patricia Boyle"
    assert job.callback_method == "post"
    assert job.ignore_empty is True
    assert job.created_time is not None and job.created_time.utcoffset().total_seconds() == 19800
    (res,) = job.resources
    assert res.module == "Leads" and res.module_id is None
    assert res.file is None
    assert [m.api_name for m in res.mappings] == [
        "Last_Name",
        "Owner",
        "Date_3",
        "Mobile",
        "Layout",
    ]
    assert [m.index for m in res.mappings] == [0, 1, 2, 3, 4]
    assert res.mappings[2].format == "yyyy/MM/dd"


def test_recorded_v21_completed() -> None:
    job = Job.read(RECORDED_V21)
    assert job.finished and job.character_encoding == "UTF-8"
    assert job.result_url.endswith("/4150868000005350003.zip")
    (res,) = job.resources
    assert (res.module, res.module_id) == ("Leads", "4150868000000002175")
    assert [m.api_name for m in res.mappings] == ["Last_Name", "Mobile", "Owner"]
    f = res.file
    assert (f.added, f.updated, f.skipped, f.total) == (9, 0, 2, 11)
    assert f.processed == 11 and f.percent == 100.0


def test_raw_document_is_kept_untouched() -> None:
    doc = copy.deepcopy(RECORDED_V21)
    doc["brand_new_key"] = {"nested": [1, None]}
    job = Job.read(doc)
    assert job.raw is doc and job.raw["brand_new_key"] == {"nested": [1, None]}


@pytest.mark.parametrize("status", ["IN PROGRESS", "INPROGRESS", "in_progress", "In-Progress"])
def test_status_spellings_share_a_key(status: str) -> None:
    assert status_key(status) == "INPROGRESS"
    assert not is_finished(status)


@pytest.mark.parametrize("status", ["COMPLETED", "FAILED", "SKIPPED", "completed"])
def test_finished(status: str) -> None:
    assert is_finished(status)


@pytest.mark.parametrize("status", [None, "", "ADDED", "QUEUED_FOR_LATER", "DONE?"])
def test_unknown_or_running(status: str | None) -> None:
    assert not is_finished(status)


def test_loose_types() -> None:
    doc = {
        "id": 4150868000005392002,
        "status": None,
        "operation": ["insert"],
        "created_time": "yesterday",
        "created_by": "someone",
        "callback": None,
        "ignore_empty": "false",
        "result": {"download_url": None},
        "resource": [
            None,
            "junk",
            {
                "module": {"id": "1"},
                "field_mappings": [
                    {"index": "3", "api_name": 5},
                    "x",
                    {"index": 1.0},
                    {"index": True},
                    {"index": "-"},
                ],
                "file": {
                    "added_count": "7",
                    "total_count": "10",
                    "skipped_count": -1,
                    "updated_count": 2.5,
                },
            },
        ],
    }
    job = Job.read(doc)
    assert job.id == "4150868000005392002"
    assert job.status is None and job.operation == '["insert"]'
    assert job.created_time is None and job.created_time_text == "yesterday"
    assert job.created_by_name is None and job.ignore_empty is False and job.result_url is None
    assert len(job.resources) == 3
    res = job.resources[2]
    assert res.module == "1"
    assert [m.index for m in res.mappings] == [1, 3, None, None, None]
    assert res.mappings[1].api_name == "5"
    assert (res.file.added, res.file.total, res.file.skipped, res.file.updated) == (7, 10, -1, None)
    assert res.file.processed == 7 and res.file.percent == 70.0


def test_not_an_object_anywhere() -> None:
    job = Job.read({})
    assert job.resources == [] and job.id is None and not job.finished


def test_percent_without_total() -> None:
    doc = copy.deepcopy(RECORDED_V21)
    doc["resource"][0]["file"]["total_count"] = 0
    assert Job.read(doc).resources[0].file.percent is None


def test_default_values() -> None:
    doc = {
        "resource": [
            {
                "field_mappings": [
                    {"index": 0, "default_value": {"value": "Web"}},
                    {"index": 1, "default_value": {"name": "Sales"}},
                    {"index": 2, "default_value": {"value": {"id": "9"}}},
                    {"index": 3, "default_value": {"name": "x", "module": "Users"}},
                    {"index": 4, "default_value": 42},
                ]
            }
        ]
    }
    values = [m.default_value for m in Job.read(doc).resources[0].mappings]
    assert values == ["Web", "Sales", '{"value":{"id":"9"}}', '{"name":"x","module":"Users"}', "42"]


def test_helpers() -> None:
    assert text(True) == "true" and text(1.5) == "1.5" and text(None) is None
    assert integer("12") == 12 and integer(" 3 ") == 3 and integer(False) is None
    assert integer("9" * 40) is None and integer(2.5) is None
    assert boolean("TRUE") is True and boolean(1) is None


def test_huge_job_reads_every_mapping_in_order() -> None:
    job = Job.read(huge_job(10, 50))
    assert len(job.resources) == 10
    assert [m.index for m in job.resources[3].mappings] == list(range(50))
