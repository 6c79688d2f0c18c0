"""Score the note parser field by field on the labelled notes kept beside this module.

``notes.jsonl`` holds 235 notes composed here (Chinese and English, typos, customers with
similar names, dates relative to four note days, notes naming no known customer) with the
fields a person would fill in; ``org.json`` is the organisation they were written against.
Precision is the share of proposed values that are right; recall the share of expected
values that were proposed right. A field the parser leaves empty costs recall, never
precision, which is the behaviour we want when a note is ambiguous.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from salesradar.capture.parser import (
    ContactEntry,
    CustomerEntry,
    DealEntry,
    NoteProposal,
    OrgDictionary,
    parse_note,
)

HERE = Path(__file__).resolve().parent
FIELDS = (
    "customer",
    "contact",
    "kind",
    "due",
    "todo",
    "deal",
    "amount",
    "objections",
    "competitors",
)


@dataclass
class FieldScore:
    proposed: int = 0
    correct: int = 0
    expected: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct / self.proposed if self.proposed else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.expected if self.expected else 1.0


def load_org(
    path: Path = HERE / "org.json",
) -> tuple[OrgDictionary, dict[int, str], dict[int, str], dict[int, str]]:
    """Build the dictionary of the test organisation and the id → name maps to read answers."""
    data = json.loads(path.read_text(encoding="utf-8"))
    customers, contacts, deals = [], [], []
    customer_names, contact_names, deal_names = {}, {}, {}
    next_id = 1
    for customer in data["customers"]:
        customer_id = next_id
        next_id += 1
        customers.append(CustomerEntry(customer_id, customer["name"], customer["owner"]))
        customer_names[customer_id] = customer["name"]
        for contact in customer["contacts"]:
            contacts.append(ContactEntry(next_id, customer_id, contact["name"], contact["title"]))
            contact_names[next_id] = contact["name"]
            next_id += 1
        for deal in customer["deals"]:
            deals.append(DealEntry(next_id, customer_id, deal["name"], deal["product_line"]))
            deal_names[next_id] = deal["name"]
            next_id += 1
    dictionary = OrgDictionary(
        customers=customers,
        contacts=contacts,
        deals=deals,
        products=sorted({d.product_line for d in deals if d.product_line}),
        competitors=list(data["competitors"]),
    )
    return dictionary, customer_names, contact_names, deal_names


def load_notes(path: Path = HERE / "notes.jsonl") -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _answers(
    proposal: NoteProposal,
    customer_names: dict[int, str],
    contact_names: dict[int, str],
    deal_names: dict[int, str],
) -> dict[str, Any]:
    return {
        "customer": customer_names.get(proposal.customer.value) if proposal.customer else None,
        "contact": contact_names.get(proposal.contact.value) if proposal.contact else None,
        "kind": proposal.kind.value if proposal.kind else None,
        "due": proposal.due.value.isoformat() if proposal.due else None,
        "todo": proposal.todo.value if proposal.todo else None,
        "deal": deal_names.get(proposal.deal.value) if proposal.deal else None,
        "amount": str(int(proposal.amount.value)) if proposal.amount else None,
        "objections": sorted({o.value for o in proposal.objections}),
        "competitors": list(proposal.competitors),
    }


def _same(name: str, got: Any, want: Any) -> bool:
    if name == "todo":
        # the to-do counts as right when it holds what was promised, whatever surrounds it
        return bool(got) and bool(want) and (want in got or got in want)
    if name == "amount":
        return Decimal(got) == Decimal(want)
    return bool(got == want)


def score(notes: Iterable[dict[str, Any]] | None = None) -> dict[str, FieldScore]:
    """Parse every labelled note and count, per field, what was proposed, right and expected."""
    dictionary, customer_names, contact_names, deal_names = load_org()
    scores = {name: FieldScore() for name in FIELDS}
    for record in load_notes() if notes is None else notes:
        proposal = parse_note(
            record["note"],
            dictionary=dictionary,
            note_day=dt.date.fromisoformat(record["note_day"]),
            owner_id=record["writer"],
        )
        got = _answers(proposal, customer_names, contact_names, deal_names)
        for name in FIELDS:
            want = record["expected"][name]
            result = scores[name]
            if name in {"objections", "competitors"}:
                got_set, want_set = set(got[name]), set(want)
                result.proposed += len(got_set)
                result.expected += len(want_set)
                result.correct += len(got_set & want_set)
                if got_set != want_set:
                    result.misses.append(
                        f"{record['note']} → {sorted(got_set)} ≠ {sorted(want_set)}"
                    )
                continue
            if got[name] not in (None, ""):
                result.proposed += 1
            if want not in (None, ""):
                result.expected += 1
            if (
                got[name] not in (None, "")
                and want not in (None, "")
                and _same(name, got[name], want)
            ):
                result.correct += 1
            elif got[name] != want:
                result.misses.append(f"{record['note']} → {got[name]!r} ≠ {want!r}")
    return scores


def report() -> str:
    """Return the per-field table for both labelled sets and the parse time per note."""
    lines = []
    for name, title in (
        ("notes.jsonl", "development set (the parser was tuned on it)"),
        (
            "heldout.jsonl",
            "held-out set (written after the parser; one general rule changed after its first run)",
        ),
    ):
        notes = load_notes(HERE / name)
        started = time.perf_counter()
        scores = score(notes)
        per_note_ms = (time.perf_counter() - started) * 1000 / len(notes)
        lines.append(f"{title}: {len(notes)} notes, {per_note_ms:.1f} ms per note")
        lines.append(
            f"  {'field':<12} {'precision':>9} {'recall':>7} "
            f"{'proposed':>9} {'right':>6} {'expected':>9}"
        )
        for field_name, result in scores.items():
            lines.append(
                f"  {field_name:<12} {result.precision:>9.3f} {result.recall:>7.3f} "
                f"{result.proposed:>9} {result.correct:>6} {result.expected:>9}"
            )
    return "\n".join(lines) + "\n"
