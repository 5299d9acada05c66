"""The reviewer groups. Their admin permissions: read claims, history and the outbox; nothing else.

Every claim change a reviewer makes goes through `claims.workflow`, whose state machine checks the
group; Django's model permissions only open the admin pages.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READ = [
    ("claims", "view_claim"),
    ("claims", "view_claimevent"),
    ("claims", "view_partner"),
    ("claims", "view_product"),
    ("claims", "view_tenant"),
    ("cpor", "view_outboundemail"),
]


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in READ]
    for name in ("PoE reviewers", "Review leads"):
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.add(*permissions)


def drop_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["PoE reviewers", "Review leads"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("claims", "0002_product_catalogue"),
        ("cpor", "0001_initial"),
    ]
    operations = [migrations.RunPython(create_groups, drop_groups)]
