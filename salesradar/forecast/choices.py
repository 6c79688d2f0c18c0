from django.db import models
from django.utils.translation import gettext_lazy as _


class Target(models.TextChoices):
    """What a deal-outcome model predicts."""

    WON = "won", _("Won")
    SLIP_OR_LOSS = "slip_or_loss", _("Slips or is lost within the horizon")


class Algorithm(models.TextChoices):
    GRADIENT_BOOSTING = "hist_gradient_boosting", _("Histogram gradient boosting")
    LOGISTIC_REGRESSION = "logistic_regression", _("Logistic regression")


class Calibration(models.TextChoices):
    ISOTONIC = "isotonic", _("Isotonic")
    SIGMOID = "sigmoid", _("Sigmoid (Platt)")


class PeriodKind(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
