from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "salesradar.notify"
    label = "notify"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from salesradar.notify.channels import load_all

        load_all()
