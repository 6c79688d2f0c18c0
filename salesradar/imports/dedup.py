"""The one place where an import asks whether new customers or leads duplicate existing ones.

The CRM's duplicate detection (normalised names, credit codes, phone numbers) is built in
``salesradar.crm`` on another branch. When it lands, wire it in :func:`check_duplicates`
and nowhere else: the importer calls it once per batch with the rows about to be created
(never the rows that update a record it already knows by external id or number).
"""

from __future__ import annotations

from typing import Any


def check_duplicates(kind: str, rows: list[tuple[int, dict[str, Any]]]) -> dict[int, str]:
    """Return ``{row number: reason}`` for the rows that would create a duplicate.

    ``kind`` is ``"customers"`` or ``"leads"``; each row is ``(row number, field values)``
    with model attribute names as keys (``name``, ``normalized_name``, ``credit_code``,
    ``company_name``, ``phone``, ...). A refused row is reported with the reason and, in a
    partial import, left out; in an all-or-nothing import it stops the import.

    Until the CRM's check is merged this refuses nothing; the unique constraints (customer
    number, credit code) still refuse exact duplicates row by row.
    """
    return {}
