"""Identity of SalesRadar rows in the systems they came from.

One table for every kind of object and every source, so that an import, an API client and an
inbound webhook from the same old CRM agree on which row an external id means, and a row can
be known under several sources at once (a Salesforce id and a HubSpot id after a migration).
"""

from __future__ import annotations

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExternalRef(models.Model):
    source = models.CharField(
        _("source system"), max_length=64, help_text=_("e.g. salesforce, hubspot, odoo, file")
    )
    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, verbose_name=_("kind of object")
    )
    external_id = models.CharField(_("external id"), max_length=255)
    object_id = models.PositiveBigIntegerField(_("object id"))
    target = GenericForeignKey("content_type", "object_id")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # TRICKY: the run and row that last wrote this reference let an import find an external id
    # that appears twice in one file through the database, without holding every id in memory.
    import_run = models.ForeignKey(
        "imports.ImportRun",
        verbose_name=_("last import"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    row_number = models.PositiveIntegerField(_("row in that import's file"), null=True, blank=True)

    class Meta:
        verbose_name = _("external reference")
        verbose_name_plural = _("external references")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "content_type", "external_id"],
                name="external_ref_unique_per_source",
            ),
        ]
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class ImportRun(models.Model):
    """One import of one file: its settings, what came of it and where its error report is.

    The web flow keeps the uploaded file here between its steps (upload, map, dry run,
    import); the CLI records its runs too, so a nightly import that stopped can be seen.
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded, not yet run")
        DRY_RUN = "dry_run", _("Dry run done, nothing written")
        COMMITTED = "committed", _("Imported")
        ROLLED_BACK = "rolled_back", _("Refused, nothing written")
        FAILED = "failed", _("Failed, nothing written")
        UNDONE = "undone", _("Undone")

    kind = models.CharField(_("kind"), max_length=32)
    source = models.CharField(_("source system"), max_length=64, default="file")
    file_name = models.CharField(_("file name"), max_length=255)
    stored_path = models.CharField(_("stored file"), max_length=500, blank=True)
    preset = models.CharField(_("column preset"), max_length=64, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    stage_map = models.JSONField(_("stage mapping"), default=dict, blank=True)
    options = models.JSONField(
        _("options"),
        default=dict,
        blank=True,
        help_text=_("Currency, day/month order and what to create, as chosen for this run."),
    )
    partial = models.BooleanField(_("import valid rows, report the rest"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.UPLOADED
    )
    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    created = models.PositiveIntegerField(_("rows created"), default=0)
    updated = models.PositiveIntegerField(_("rows updated"), default=0)
    unchanged = models.PositiveIntegerField(_("rows unchanged"), default=0)
    refused = models.PositiveIntegerField(_("rows refused"), default=0)
    error_sample = models.JSONField(_("first errors"), default=list, blank=True)
    error_report = models.CharField(_("error report file"), max_length=500, blank=True)
    message = models.TextField(_("message"), blank=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name}"


class OwnerMapping(models.Model):
    """How one source system names a SalesRadar user: its user id, e-mail or display name.

    Saved by an import that was given an owner map (or created the owners), and used by every
    later import from the same source, so the map is given once.
    """

    source = models.CharField(_("source system"), max_length=64)
    value = models.CharField(
        _("name in the source"), max_length=255, help_text=_("Compared case-insensitively.")
    )
    user = models.ForeignKey(
        "accounts.User",
        verbose_name=_("SalesRadar user"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("owner mapping")
        verbose_name_plural = _("owner mappings")
        constraints = [
            models.UniqueConstraint(fields=["source", "value"], name="owner_mapping_unique")
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.value}"


class ImportChange(models.Model):
    """What one import run wrote to one record, so the run can be undone.

    ``created``: the record did not exist before the run. ``updated``: ``before`` holds the
    values the run replaced and ``after`` the ones it wrote, so an undo restores the first
    only while the record still holds the second.
    """

    class Action(models.TextChoices):
        CREATED = "created", _("created")
        UPDATED = "updated", _("updated")

    run = models.ForeignKey(
        ImportRun, verbose_name=_("import run"), on_delete=models.CASCADE, related_name="changes"
    )
    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, verbose_name=_("kind of object")
    )
    object_id = models.PositiveBigIntegerField(_("object id"))
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    before = models.JSONField(_("values before"), default=dict, blank=True)
    after = models.JSONField(_("values written"), default=dict, blank=True)

    class Meta:
        verbose_name = _("import change")
        verbose_name_plural = _("import changes")
        indexes = [models.Index(fields=["run", "content_type", "action"])]

    def __str__(self) -> str:
        return f"{self.run_id} {self.action} {self.content_type_id}:{self.object_id}"
