from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "salesradar.metrics"
    label = "metrics"
    verbose_name = _("Metrics")

    def ready(self) -> None:
        from salesradar.metrics import catalogue  # noqa: F401  (registers the metrics)
