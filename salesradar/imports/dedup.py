"""The one place where an import asks whether new customers or leads duplicate existing ones.

It defers to the CRM's duplicate guard (``salesradar.crm.dedup``) so that a file, the web
form, the API and manual entry refuse the same collisions with the same words, and it fills
the match keys of the rows it lets through, so the next import or form sees them too.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from salesradar.crm.dedup import Incoming, Keys, guard_duplicates, keys_of


def _incoming(kind: str, values: dict[str, Any]) -> Incoming:
    if kind == "customers":
        return Incoming(
            company_name=values.get("name") or "", credit_code=values.get("credit_code") or ""
        )
    return Incoming(
        company_name=values.get("company_name") or "",
        credit_code=values.get("credit_code") or "",
        phone=values.get("phone") or "",
        email=values.get("email") or "",
    )


def _store_keys(kind: str, values: dict[str, Any], keys: Keys) -> None:
    values["normalized_name"] = keys.normalized_name
    values["name_key"] = keys.name_key
    values["name_block"] = keys.name_block
    values["name_subblock"] = keys.name_subblock
    if kind == "leads":
        values["phone_key"] = keys.phone
        values["email_key"] = keys.email


def check_duplicates(kind: str, rows: list[tuple[int, dict[str, Any]]]) -> dict[int, str]:
    """Return ``{row number: reason}`` for the rows that would create a duplicate.

    ``kind`` is ``"customers"`` or ``"leads"``; each row is ``(row number, field values)``
    with model attribute names as keys. An exact collision (credit code, phone, e-mail, with
    an existing record or an earlier row of the same file) refuses the row and names the
    record; a merely similar name does not refuse it (an import cannot stop for review).
    The values of accepted rows gain their match keys in place.
    """
    refused: dict[int, str] = {}
    checked: list[tuple[int, dict[str, Any], Keys]] = []
    for number, values in rows:
        try:
            keys = keys_of(_incoming(kind, values))
        except ValidationError as error:
            refused[number] = " ".join(error.messages)
            continue
        checked.append((number, values, keys))
    results = guard_duplicates([keys for _, _, keys in checked])
    for (number, values, keys), result in zip(checked, results, strict=True):
        if result.exact:
            refused[number] = " ".join(collision.message for collision in result.exact)
        else:
            _store_keys(kind, values, keys)
    return refused
