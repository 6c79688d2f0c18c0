from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser
from django.db import models, transaction
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext_lazy as _

from salesradar.accounts.choices import Role
from salesradar.accounts.validators import validate_time_zone


class Team(models.Model):
    """A node of the sales organisation tree.

    ``path`` ("/1/4/9/") is the chain of ids from the root, kept so a subtree is one indexed
    prefix match instead of a recursive query.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    manager = models.ForeignKey(
        "accounts.User",
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
    )
    region = models.CharField(_("region"), max_length=60, blank=True)
    path = models.CharField(_("path"), max_length=255, editable=False, db_index=True)

    owner_path: ClassVar[str] = ""

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Keep ``path`` (and every descendant's) consistent with ``parent``."""
        with transaction.atomic():
            old_path = self.path
            if self.pk is not None:
                # TRICKY: an instance loaded before an ancestor moved holds a stale path; the
                # descendants to rewrite are found by the path the database has.
                stored = Team.objects.filter(pk=self.pk).values_list("path", flat=True).first()
                old_path = stored if stored is not None else old_path
            if self.pk is None:
                super().save(*args, **kwargs)
                kwargs = {}
            if self.parent_id is not None:
                parent = Team.objects.only("path").get(pk=self.parent_id)
                if f"/{self.pk}/" in parent.path:
                    raise ValueError(_("A team cannot be moved under its own subtree."))
                new_path = f"{parent.path}{self.pk}/"
            else:
                new_path = f"/{self.pk}/"
            self.path = new_path
            super().save(*args, **kwargs)
            if old_path and old_path != new_path:
                Team.objects.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                    path=Concat(models.Value(new_path), Substr("path", len(old_path) + 1))
                )

    def subtree(self) -> models.QuerySet[Team]:
        return Team.objects.filter(path__startswith=self.path)


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    phone = models.CharField(_("mobile phone"), max_length=32, blank=True)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="Asia/Shanghai",
        validators=[validate_time_zone],
        help_text=_("Every date and time is shown to this person in this zone."),
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=[("zh-hans", "简体中文"), ("en", "English")],
        default="zh-hans",
    )
    hired_on = models.DateField(_("hired on"), null=True, blank=True)

    owner_path: ClassVar[str] = ""

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        indexes = [models.Index(fields=["team", "role"])]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def get_full_name(self) -> str:
        """Chinese names read family name first and without a space (王芳, not 芳 王)."""
        first, last = self.first_name.strip(), self.last_name.strip()
        if any("\u4e00" <= char <= "\u9fff" for char in first + last):
            return f"{last}{first}"
        return f"{first} {last}".strip()
