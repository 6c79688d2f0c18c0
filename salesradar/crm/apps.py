from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "salesradar.crm"
    label = "crm"
    verbose_name = _("Customers and leads")

    def ready(self) -> None:
        from salesradar.crm.settings import register

        register()  # the lead pool's SALESRADAR_* settings, documented in crm/settings.py
