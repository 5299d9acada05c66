from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0005_review_queue_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(fields=["partner", "-created_at", "-id"], name="claim_partner_newest_idx"),
        ),
    ]
