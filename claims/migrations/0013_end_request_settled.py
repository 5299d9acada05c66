from django.db import migrations, models


def settle_outlived_requests(apps, schema_editor):
    """A request still pending on a claim that left `associated` another way (withdrawn, superseded)
    was outlived by its association: mark it settled, as the workflow now does when it happens."""
    AssociationEndRequest = apps.get_model("claims", "AssociationEndRequest")
    outlived = AssociationEndRequest.objects.filter(outcome="pending").exclude(claim__status="associated")
    for request in outlived.select_related("claim"):
        # When it was settled: the moment the claim left `associated`, as well as we know it.
        request.outcome = "settled"
        request.decided_at = request.claim.updated_at
        request.save(update_fields=["outcome", "decided_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0012_subscription_and_usage_feeds"),
    ]

    operations = [
        migrations.AlterField(
            model_name="associationendrequest",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("pending", "Waiting for a review lead"),
                    ("granted", "Association ended"),
                    ("declined", "Request declined"),
                    ("settled", "No longer needed: the association ended"),
                ],
                db_index=True,
                default="pending",
                max_length=10,
                verbose_name="outcome",
            ),
        ),
        migrations.RunPython(settle_outlived_requests, migrations.RunPython.noop),
    ]
