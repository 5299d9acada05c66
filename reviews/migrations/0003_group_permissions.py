"""Exactly the admin permissions the reviewer groups' pages need: all of them "view".

PoE reviewers and Review leads read the review queue and claim page (claims, their history, the
partner with its MPN IDs, products, tenants with their domains), the outbox and the consent notices.
Review leads also read the SLA overview and its digest log (`view_sladigest`). Nobody in these
groups may add, change or delete anything in the admin: claim changes go through `claims.workflow`,
whose state machine checks the group. Partner users are not staff and never enter the admin.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

REVIEWER = [
    ("claims", "view_claim"),
    ("claims", "view_claimevent"),
    ("claims", "view_partner"),
    ("claims", "view_mpnid"),
    ("claims", "view_product"),
    ("claims", "view_tenant"),
    ("claims", "view_tenantdomain"),
    ("cpor", "view_outboundemail"),
    ("consent", "view_consentrequest"),
]
LEAD = [*REVIEWER, ("reviews", "view_sladigest")]
GROUPS = {"PoE reviewers": REVIEWER, "Review leads": LEAD}

# What 0001_groups gave both groups, restored on the way back.
BEFORE = [
    ("claims", "view_claim"),
    ("claims", "view_claimevent"),
    ("claims", "view_partner"),
    ("claims", "view_product"),
    ("claims", "view_tenant"),
    ("cpor", "view_outboundemail"),
]


def _permissions(apps, pairs):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    return [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in pairs]


def set_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, pairs in GROUPS.items():
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.set(_permissions(apps, pairs))


def restore_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    permissions = _permissions(apps, BEFORE)
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.set(permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0002_review_checklist_and_sla_digest"),
        ("consent", "0001_initial"),
        ("claims", "0004_review_sla_and_separation"),
    ]
    operations = [migrations.RunPython(set_permissions, restore_permissions)]
