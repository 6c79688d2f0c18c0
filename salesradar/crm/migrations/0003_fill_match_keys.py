"""Fill the duplicate guard's keys for leads, customers and contacts that existed before them."""

from django.db import migrations

BATCH = 2000


def fill(apps, schema_editor):
    from salesradar.crm.normalize import (
        company_match_key,
        name_block,
        normalize_email,
        phone_key_or_blank,
    )

    Lead = apps.get_model("crm", "Lead")
    Customer = apps.get_model("crm", "Customer")
    Contact = apps.get_model("crm", "Contact")

    def batches(queryset):
        last = 0
        while True:
            rows = list(queryset.filter(pk__gt=last).order_by("pk")[:BATCH])
            if not rows:
                return
            yield rows
            last = rows[-1].pk

    for rows in batches(Lead.objects.only("pk", "company_name", "phone", "email")):
        for lead in rows:
            lead.name_key = company_match_key(lead.company_name)
            lead.name_block = name_block(lead.name_key)
            lead.phone_key = phone_key_or_blank(lead.phone)
            lead.email_key = normalize_email(lead.email)
        Lead.objects.bulk_update(rows, ["name_key", "name_block", "phone_key", "email_key"])
    for rows in batches(Customer.objects.only("pk", "name")):
        for customer in rows:
            customer.name_key = company_match_key(customer.name)
            customer.name_block = name_block(customer.name_key)
        Customer.objects.bulk_update(rows, ["name_key", "name_block"])
    for rows in batches(Contact.objects.only("pk", "phone", "email")):
        for contact in rows:
            contact.phone_key = phone_key_or_blank(contact.phone)
            contact.email_key = normalize_email(contact.email)
        Contact.objects.bulk_update(rows, ["phone_key", "email_key"])


class Migration(migrations.Migration):
    dependencies = [("crm", "0002_lead_pool")]
    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
