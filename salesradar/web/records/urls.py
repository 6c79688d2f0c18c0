"""Customers, contacts, opportunities and the rep workspace; included by ``web.urls``."""

from django.urls import URLPattern, URLResolver, path

from salesradar.web.records import board, documents, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("workspace/", views.workspace, name="workspace"),
    path("workspace/follow-up/", views.followup, name="followup"),
    path("tasks/<int:pk>/done/", views.task_done, name="task_done"),
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/new/", views.customer_create, name="customer_create"),
    path("customers/<int:pk>/", views.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("customers/<int:customer_pk>/contacts/new/", views.contact_create, name="contact_create"),
    path(
        "customers/<int:customer_pk>/opportunities/new/",
        views.opportunity_create,
        name="opportunity_create",
    ),
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("opportunities/", views.opportunity_list, name="opportunity_list"),
    path("opportunities/board/", board.deal_board, name="deal_board"),
    path("opportunities/new/", board.opportunity_new, name="opportunity_new"),
    path("opportunities/<int:pk>/board-move/", board.board_move, name="board_move"),
    path("opportunities/<int:pk>/board-evidence/", board.board_evidence, name="board_evidence"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", views.opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/move/", views.opportunity_move, name="opportunity_move"),
    path(
        "opportunities/<int:pk>/evidence/",
        views.opportunity_evidence,
        name="opportunity_evidence",
    ),
    path("opportunities/<int:pk>/quotes/", documents.quote_create, name="quote_create"),
    path("quotes/<int:pk>/send/", documents.quote_send, name="quote_send"),
    path("quotes/<int:pk>/edit/", documents.quote_edit, name="quote_edit"),
    path("opportunities/<int:pk>/contracts/", documents.contract_create, name="contract_create"),
    path("contracts/<int:pk>/invoices/", documents.invoice_create, name="invoice_create"),
    path("invoices/<int:pk>/payments/", documents.payment_create, name="payment_create"),
]
