from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ForecastConfig(AppConfig):
    name = "salesradar.forecast"
    label = "forecast"
    verbose_name = _("Forecast")

    def ready(self) -> None:
        from salesradar.forecast import risk  # noqa: F401  (registers the metric and rule kind)
