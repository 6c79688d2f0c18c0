from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "salesradar.api"
    label = "api"
    verbose_name = _("REST API and webhooks")

    def ready(self) -> None:
        from salesradar.api import events, schema
        from salesradar.api.channel import register_event_channel
        from salesradar.core import outbox

        register_event_channel()
        outbox.register(events.write_outbox)
        schema.register()
