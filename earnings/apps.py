from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EarningsConfig(AppConfig):
    name = "earnings"
    verbose_name = _("Earnings")

    def ready(self) -> None:
        from claims.contributions import register_demo_seeder
        from claims.history import register_reason_labels
        from claims.workflow import register_step
        from earnings import assessment, demo, ledger
        from earnings.models import AssessmentHandoff

        register_reason_labels("assessment_reasons", AssessmentHandoff.Reason)
        register_demo_seeder(demo.seed_terms, before_claims=True)
        register_demo_seeder(demo.seed)

        register_step(
            "close_consent_window", assessment.hand_off_for_assessment, for_many=assessment.hand_off_many
        )
        # Every way an association ends stops its earning.
        register_step("withdraw", ledger.end_association)
        register_step("supersede", ledger.end_association)
        register_step("end_association", ledger.end_association)
        register_step("lapse", ledger.end_association, for_many=ledger.end_associations)
