from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Reviews")

    def ready(self) -> None:
        from claims.workflow import register_step
        from reviews import competing

        # Approving the winner of competing claims ends the others' associations, in the same transaction.
        register_step("approve", competing.supersede_competing)
