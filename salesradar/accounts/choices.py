from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    REP = "rep", _("Sales rep")
    PRESALES = "presales", _("Presales engineer")
    MANAGER = "manager", _("Sales manager")
    DIRECTOR = "director", _("Sales director")
    OPS = "ops", _("Sales operations")
    ADMIN = "admin", _("Administrator")


ALL_SEEING_ROLES = frozenset({Role.DIRECTOR, Role.OPS, Role.ADMIN})
