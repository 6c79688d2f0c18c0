from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from salesradar.accounts.visibility import visible
from salesradar.activities.models import Activity
from salesradar.crm.models import Customer
from salesradar.pipeline.models import Opportunity


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    counts = {
        "customers": visible(user, Customer).count(),
        "open_opportunities": visible(user, Opportunity).open().count(),
        "activities": visible(user, Activity).count(),
    }
    return render(request, "web/home.html", {"counts": counts})


def healthz(request: HttpRequest) -> JsonResponse:
    """Answer whether the database is reachable, for load balancers and the serve command."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})
