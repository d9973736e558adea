"""What the error codes in a result file's ``ERRORS`` column mean, and what to do about
each: one line per code Zoho documents for the result file (download-result page, v2 to
v8). A code not in the table is shown verbatim, with no explanation invented for it.
"""

from __future__ import annotations

# code: (what it means, what to do)
CODES: dict[str, tuple[str, str]] = {
    "MANDATORY_NOT_FOUND": (
        "the layout requires this field and the row leaves it empty",
        "fill the value in, or give the mapping a default value",
    ),
    "INVALID_DATA": (
        "the value does not fit the field's type or format (date, number, email, picklist)",
        "correct the value, or the mapping's format (e.g. yyyy-MM-dd)",
    ),
    "DUPLICATE_DATA": (
        "a unique field's value already exists in the CRM, or the file repeats it",
        "change the value, drop the repeated row, or use upsert with this field as find_by",
    ),
    "NOT_APPROVED": (
        "the record waits for approval (or the related record is not approved yet)",
        "approve it in the CRM first, then send the row again",
    ),
    "BLOCKED_RECORD": (
        "the record is locked: a review, an approval process or a lock rule holds it",
        "unlock it (or finish the review) in the CRM, then send the row again",
    ),
    "CANNOT_PROCESS": (
        "Zoho could not process the row (e.g. an automation or a workflow stopped it)",
        "look at the record's automation and workflows, then send the row again",
    ),
    "LIMIT_EXCEEDED": (
        "a limit was reached (records, storage, or a field's length or count)",
        "shorten the value or free the limit, then send the row again",
    ),
    "RESOURCE_NOT_FOUND": (
        "the record this row refers to (find_by, id or a lookup) does not exist",
        "fix the reference, or create the related record first",
    ),
}


def explain(code: str) -> str | None:
    """``meaning; what to do`` for a documented code, None for any other."""
    found = CODES.get(code)
    return None if found is None else f"{found[0]}; {found[1]}"
