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
        # Every other transition that ends an association (withdraw, supersede, and any added later,
        # such as a lapse: read from the state machine) settles a pending request as no longer needed.
        for action in customer.actions_leaving_associated():
            if action != "end_association":
                register_step(
                    action, customer.settle_end_requests, for_many=customer.settle_end_requests_for_many
                )
