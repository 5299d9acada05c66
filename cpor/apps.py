from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CporConfig(AppConfig):
    name = "cpor"
    verbose_name = _("CPOR platform")
