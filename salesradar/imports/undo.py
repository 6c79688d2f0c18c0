"""Undo an import: remove what it created, restore what it updated, or say what stands in the way.

An import run keeps an ``ImportChange`` per record it wrote. Within ``UNDO_DAYS`` of the run,
``undo_import`` deletes the records it created and puts back the values it replaced, all or
nothing. It refuses, naming each record, when something later depends on the run: a record
the run did not create that points at one it did (a follow-up logged on an imported
customer), or an updated record changed again since (its values are no longer the run's).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.imports.models import ExternalRef, ImportChange, ImportRun

UNDO_DAYS = 30
SHOWN_BLOCKERS = 20
# children first, so nothing the run created is deleted while another created row points at it
DELETE_ORDER = (
    "pipeline.stagechange",
    "activities.activity",
    "pipeline.quote",
    "pipeline.invoice",
    "pipeline.target",
    "pipeline.opportunity",
    "crm.contact",
    "crm.lead",
    "crm.customer",
    "accounts.user",
)


class UndoRefused(ValueError):
    """The run cannot be undone; the message says why and names what stands in the way."""


@dataclass
class UndoReport:
    run_id: int
    deleted: dict[str, int] = field(default_factory=dict)
    restored: int = 0


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _describe(record: Any) -> str:
    code = getattr(record, "code", "") or getattr(record, "username", "") or record.pk
    return f"{record._meta.verbose_name} {code}"


def undo_import(run: ImportRun, *, at: dt.datetime | None = None) -> UndoReport:
    """Undo ``run``; raise :class:`UndoRefused` with nothing changed when it cannot be."""
    at = at or timezone.now()
    if run.status != ImportRun.Status.COMMITTED:
        raise UndoRefused(
            _("Only an import that was written can be undone (this one: {status}).").format(
                status=run.get_status_display()
            )
        )
    finished = run.finished_at or run.created_at
    if at - finished > dt.timedelta(days=UNDO_DAYS):
        raise UndoRefused(
            _("The import finished on {date}; imports can be undone for {days} days.").format(
                date=timezone.localtime(finished).date().isoformat(), days=UNDO_DAYS
            )
        )
    created: dict[int, set[int]] = defaultdict(set)
    updates: list[ImportChange] = []
    for change in run.changes.all().iterator(chunk_size=2000):
        if change.action == ImportChange.Action.CREATED:
            created[change.content_type_id].add(change.object_id)
        else:
            updates.append(change)
    models_by_type = {
        type_id: ContentType.objects.get_for_id(type_id).model_class() for type_id in created
    }
    created_by_label = {
        _label(model): ids for type_id, ids in created.items() if (model := models_by_type[type_id])
    }
    blockers = _dependents(models_by_type, created, created_by_label)
    restores = _restorable(updates, blockers)
    if blockers:
        shown = "; ".join(blockers[:SHOWN_BLOCKERS])
        if len(blockers) > SHOWN_BLOCKERS:
            shown += " " + _("and {count} more").format(count=len(blockers) - SHOWN_BLOCKERS)
        raise UndoRefused(
            _("The import cannot be undone, later changes depend on it: {blockers}.").format(
                blockers=shown
            )
        )
    report = UndoReport(run.pk)
    with transaction.atomic():
        for model, record, values in restores:
            for attname, value in values.items():
                setattr(record, attname, value)
            model._base_manager.filter(pk=record.pk).update(**values)
            report.restored += 1
        order = {label: index for index, label in enumerate(DELETE_ORDER)}

        def position(item: tuple[int, set[int]]) -> int:
            return order.get(_label(models_by_type[item[0]]), len(order))

        for type_id, ids in sorted(created.items(), key=position):
            model = models_by_type[type_id]
            ExternalRef.objects.filter(content_type_id=type_id, object_id__in=ids).delete()
            # TRICKY: the base manager, since history tables refuse deletes through their
            # default manager; these rows are the run's own, not history anyone else wrote
            model._base_manager.filter(pk__in=ids).delete()
            report.deleted[_label(model)] = len(ids)
        run.status = ImportRun.Status.UNDONE
        run.undone_at = at
        run.save(update_fields=["status", "undone_at"])
    return report


def _dependents(
    models_by_type: dict[int, Any],
    created: dict[int, set[int]],
    created_by_label: dict[str, set[int]],
) -> list[str]:
    """Describe every record the run did not create that points at one it did."""
    blockers: list[str] = []
    for type_id, ids in created.items():
        model = models_by_type[type_id]
        if model is None:
            continue
        for relation in model._meta.related_objects:
            if relation.many_to_many or not relation.field.concrete:
                continue
            related = relation.related_model
            own = created_by_label.get(_label(related), set())
            rows = related._base_manager.filter(**{f"{relation.field.name}__in": ids}).exclude(
                pk__in=own
            )
            for row in rows[:SHOWN_BLOCKERS]:
                target = getattr(row, relation.field.attname)
                blockers.append(
                    _("{dependent} refers to {record} #{pk}").format(
                        dependent=_describe(row),
                        record=model._meta.verbose_name,
                        pk=target,
                    )
                )
    return blockers


def _restorable(
    updates: list[ImportChange], blockers: list[str]
) -> list[tuple[Any, Any, dict[str, Any]]]:
    """The records to put back; an updated record changed again since adds a blocker."""
    restores: list[tuple[Any, Any, dict[str, Any]]] = []
    for change in updates:
        model = ContentType.objects.get_for_id(change.content_type_id).model_class()
        if model is None:
            continue
        record = model._base_manager.filter(pk=change.object_id).first()
        if record is None:
            blockers.append(
                _("{record} #{pk} was deleted since").format(
                    record=model._meta.verbose_name, pk=change.object_id
                )
            )
            continue
        values: dict[str, Any] = {}
        for attname, written in change.after.items():
            model_field = next(f for f in model._meta.concrete_fields if f.attname == attname)
            current = getattr(record, attname)
            if current != model_field.to_python(written):
                blockers.append(
                    _("{record} was changed again since ({field})").format(
                        record=_describe(record), field=model_field.verbose_name
                    )
                )
                break
            values[attname] = model_field.to_python(change.before.get(attname))
        else:
            restores.append((model, record, values))
    return restores
