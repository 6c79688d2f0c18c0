from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "salesradar.quality"
    label = "quality"
    verbose_name = _("Warning quality")

    def ready(self) -> None:
        from salesradar.quality import bpi2012, datasets, demo_dataset

        datasets.register_dataset(bpi2012.DATASET)
        datasets.register_dataset(demo_dataset.DATASET)
