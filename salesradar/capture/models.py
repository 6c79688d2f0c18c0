from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Competitor(models.Model):
    """A competitor reps name in their notes; the note parser looks for its name and aliases."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    aliases = models.CharField(
        _("other names"),
        max_length=300,
        blank=True,
        help_text=_("Comma-separated: short names, English names, common misspellings."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("competitor")
        verbose_name_plural = _("competitors")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def names(self) -> list[str]:
        return [self.name, *(alias.strip() for alias in self.aliases.split(",") if alias.strip())]
