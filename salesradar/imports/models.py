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
