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
        register_step(
            "close_consent_window", services.hand_off_for_assessment, for_many=services.hand_off_many
        )
        register_step("withdraw", services.cancel_handoff)
        register_step("supersede", services.cancel_handoff)
        register_step("end_association", services.cancel_handoff)
        register_step("lapse", services.cancel_handoff, for_many=services.cancel_handoffs_many)

        # The notices and the resend form on the reviewer's claim page (reviews renders them).
        register_claim_page_panel(claim_page.PANEL)
