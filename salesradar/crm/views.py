"""The public lead web form endpoint: a website's contact form posts here.

``POST /leads/web-form/`` with form fields or a JSON object (company_name, contact_name,
phone, email, region, industry, size, credit_code). Answers JSON: 201 created (the lead is
in the pool and routed), 200 merged into an existing lead, 400 with an error per field, 409
naming the duplicated field, never the existing record (the form is public). A filled
``website`` field (a honeypot bots fill in) is accepted silently and discarded.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from salesradar.crm.choices import LeadSource
from salesradar.crm.intake import LeadInput, create_lead

FIELDS = (
    "company_name",
    "contact_name",
    "phone",
    "email",
    "region",
    "industry",
    "size",
    "credit_code",
)
MAX_BODY = 16 * 1024


@csrf_exempt
@require_POST
def web_form(request: HttpRequest) -> JsonResponse:
    if len(request.body) > MAX_BODY:
        return JsonResponse({"errors": {"__all__": [_("The form is too large.")]}}, status=413)
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return JsonResponse(
                {"errors": {"__all__": [_("The body is not valid JSON.")]}}, status=400
            )
        if not isinstance(data, dict):
            return JsonResponse({"errors": {"__all__": [_("Send a JSON object.")]}}, status=400)
    else:
        data = request.POST.dict()
    if data.get("website"):
        return JsonResponse({"status": "created"}, status=201)
    bad = [name for name in FIELDS if name in data and not isinstance(data[name], str)]
    if bad:
        return JsonResponse({"errors": {name: [_("Must be a text.")] for name in bad}}, status=400)
    row = LeadInput(**{name: data.get(name, "") or "" for name in FIELDS})
    outcome = create_lead(row, source=LeadSource.WEB_FORM)
    if outcome.status == "invalid":
        return JsonResponse({"status": "invalid", "errors": outcome.errors}, status=400)
    if outcome.status == "duplicate":
        # TRICKY: the form is public, so the answer names the field, never the existing
        # record: that would tell any visitor who else is a customer.
        fields = sorted({collision.field for collision in outcome.collisions})
        return JsonResponse(
            {
                "status": "duplicate",
                "errors": {
                    name: [_("We already have these details; we will be in touch.")]
                    for name in fields
                },
            },
            status=409,
        )
    body = {"status": outcome.status, "code": outcome.lead_code}
    if outcome.review_id:
        body["review"] = True
    return JsonResponse(body, status=201 if outcome.status == "created" else 200)
