from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = _("Customer consent")

    def ready(self) -> None:
        from claims.contributions import register_claim_page_panel
        from claims.workflow import register_step
        from consent import claim_page, logs, services, signin
        from cpor import outbox

        logs.install()

        outbox.register_secret_loader("consent_request_id", services.consent_link)
        outbox.register_secret_loader(signin.LINK_ID_KEY, signin.sign_in_link)

        register_step("approve", services.open_consent_request)

        # The notices and the resend form on the reviewer's claim page (reviews renders them).
        register_claim_page_panel(claim_page.PANEL)
