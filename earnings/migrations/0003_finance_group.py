"""The staff group "Incentive finance": edits programme rules (new versions), reads assessments and
the ledger, approves statements and records their payment. Nothing else in the admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

FINANCE = [
    ("earnings", "view_programmerule"),
    ("earnings", "add_programmerule"),
    ("earnings", "change_programmerule"),
    ("earnings", "view_assessmenthandoff"),
    ("earnings", "view_earningsline"),
    ("earnings", "view_statement"),
    ("earnings", "view_statementtotal"),
    ("earnings", "approve_statement"),
    ("earnings", "record_payment"),
    ("claims", "view_partner"),
    ("claims", "view_product"),
]


def _permissions(apps, pairs):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    return [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in pairs]


def create_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group, _created = Group.objects.get_or_create(name="Incentive finance")
    group.permissions.set(_permissions(apps, FINANCE))


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Incentive finance").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("earnings", "0002_handoffs_from_consent"),
        ("claims", "0014_lapse"),
    ]
    operations = [migrations.RunPython(create_group, remove_group)]
