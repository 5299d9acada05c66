from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = _("Claims")

    def ready(self) -> None:
        from claims import notifications, password_reset
        from claims.workflow import customer, register_step
        from cpor import outbox

        outbox.register_context_loader(notifications.load_context)
        outbox.register_secret_loader(password_reset.USER_KEY, password_reset.reset_link)

        # Ending an association grants the customer's pending request and confirms it to them.
        register_step("end_association", customer.grant_end_request)
