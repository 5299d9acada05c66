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
        # An association the partner withdraws, a competitor supersedes or the lapse job ends ends
        # too: a customer's pending request to end it is settled, not left for a lead.
        register_step("withdraw", customer.settle_end_requests)
        register_step("supersede", customer.settle_end_requests)
        register_step("lapse", customer.settle_end_requests, for_many=customer.settle_end_requests_many)
