"""The assessment hand-offs move from consent/ to earnings/: each row and its queued products are
copied with their ids, before consent drops its table (consent 0006)."""

from django.db import migrations


def copy_handoffs(apps, schema_editor):
    Old = apps.get_model("consent", "AssessmentHandoff")
    New = apps.get_model("earnings", "AssessmentHandoff")
    batch = []
    for old in Old.objects.select_related("claim").iterator(chunk_size=2000):
        batch.append(
            New(
                id=old.id,
                claim_id=old.claim_id,
                partner_id=old.claim.partner_id,
                programme=old.programme,
                payment_eligible=old.payment_eligible,
                queued_at=old.queued_at,
                tenant_id=old.claim.customer_tenant_id,
                subscription_id=old.claim.subscription_id,
            )
        )
        if len(batch) >= 2000:
            New.objects.bulk_create(batch)
            batch = []
    New.objects.bulk_create(batch)
    OldProducts = Old.products.through
    NewProducts = New.products.through
    NewProducts.objects.bulk_create(
        [
            NewProducts(assessmenthandoff_id=row.assessmenthandoff_id, product_id=row.product_id)
            for row in OldProducts.objects.all().iterator(chunk_size=2000)
        ],
        batch_size=2000,
    )
    if schema_editor.connection.vendor == "postgresql" and New.objects.exists():
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('earnings_assessmenthandoff', 'id'), "
                "(SELECT MAX(id) FROM earnings_assessmenthandoff))"
            )


def copy_back(apps, schema_editor):
    Old = apps.get_model("consent", "AssessmentHandoff")
    New = apps.get_model("earnings", "AssessmentHandoff")
    Old.objects.bulk_create(
        [
            Old(
                id=new.id,
                claim_id=new.claim_id,
                programme=new.programme,
                payment_eligible=new.payment_eligible,
                queued_at=new.queued_at,
            )
            for new in New.objects.all()
        ]
    )
    Old.products.through.objects.bulk_create(
        [
            Old.products.through(assessmenthandoff_id=row.assessmenthandoff_id, product_id=row.product_id)
            for row in New.products.through.objects.all()
        ]
    )
    New.products.through.objects.all().delete()
    New.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("earnings", "0001_ledger_and_statements"),
        ("consent", "0005_sign_in_link_checked"),
    ]
    operations = [migrations.RunPython(copy_handoffs, copy_back)]
