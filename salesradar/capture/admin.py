from django.contrib import admin

from salesradar.capture.models import Competitor


@admin.register(Competitor)
class CompetitorAdmin(admin.ModelAdmin):
    list_display = ("name", "aliases", "active")
    list_filter = ("active",)
    search_fields = ("name", "aliases")
