from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = "Claims"

    def ready(self) -> None:
        from claims import notifications
        from cpor import outbox

        outbox.register_context_loader(notifications.load_context)
