from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = "Claims"

    def ready(self) -> None:
        from claims import notifications, password_reset
        from cpor import outbox

        outbox.register_context_loader(notifications.load_context)
        outbox.register_secret_loader(password_reset.USER_KEY, password_reset.reset_link)
