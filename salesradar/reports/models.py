from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesradar.core.fields import AwareDateTimeField


class WeeklyReportSent(models.Model):
    """One weekly process-health report mailed to one person, so a week is sent once."""

    week_start = models.DateField(_("week starting"))
    recipient = models.ForeignKey(
        "accounts.User", verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    sent_at = AwareDateTimeField(_("queued at"), default=timezone.now)

    class Meta:
        verbose_name = _("weekly report sent")
        verbose_name_plural = _("weekly reports sent")
        constraints = [
            models.UniqueConstraint(
                fields=["week_start", "recipient"], name="weekly_report_once_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"{self.week_start} → {self.recipient_id}"
