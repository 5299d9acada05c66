"""Consent links are minted when the notice is sent; rows written before that held the link itself.

Such a row keeps a reference to its consent request instead, and its stored body a stand-in: a
queued one is sent with a freshly minted link, a sent one's link keeps working for its customer
(the hash is unchanged) but no staff page or row shows it any more.
"""

from django.db import migrations, models

STAND_IN = "[consent link: sent only to the customer]"


def forget_stored_links(apps, schema_editor) -> None:  # noqa: ANN001
    OutboundEmail = apps.get_model("cpor", "OutboundEmail")
    ConsentRequest = apps.get_model("consent", "ConsentRequest")
    for email in OutboundEmail.objects.filter(kind="consent_notice").iterator():
        url = email.context.get("consent_url")
        if not url:
            continue
        context = {key: value for key, value in email.context.items() if key != "consent_url"}
        request_id = ConsentRequest.objects.filter(email_id=email.pk).values_list("pk", flat=True).first()
        if request_id is not None:
            context["consent_request_id"] = request_id
        email.context = context
        email.body = email.body.replace(url, STAND_IN)
        email.save(update_fields=["context", "body"])


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0001_initial"),
        ("cpor", "0003_outbox_messages"),
    ]

    operations = [
        migrations.AlterField(
            model_name="consentrequest",
            name="token_hash",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.RunPython(forget_stored_links, migrations.RunPython.noop),
    ]
