"""A Zoho-compatible bulk write API on loopback: the CLI tests' server and ``zbulk sandbox``."""

from zbulk.sandbox.accounts import DeviceRequest
from zbulk.sandbox.jobs import DEMO_JOB_IDS, DEMO_JOBS
from zbulk.sandbox.messages import RecordedRequest, Request
from zbulk.sandbox.result_files import ResultFile, build_result_zip, write_result_zip
from zbulk.sandbox.server import Fault, Response, Sandbox

__all__ = [
    "DEMO_JOBS",
    "DEMO_JOB_IDS",
    "DeviceRequest",
    "Fault",
    "RecordedRequest",
    "Request",
    "Response",
    "ResultFile",
    "Sandbox",
    "build_result_zip",
    "write_result_zip",
]
