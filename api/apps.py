from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("Partner API")

    def ready(self) -> None:
        from api.webhooks import events
        from claims.workflow import register_listener, register_step

        # Every transition writes its webhook event in its own transaction (claim.<verb>).
        for action in events.ACTION_EVENT:
            register_step(action, events.transition_step, for_many=events.transition_step_many)
        register_listener("comment", events.comment_added)
        register_listener("reminder", events.reminder_sent, for_many=events.reminders_sent_many)
        register_listener("workloads_declined", events.workloads_declined)
        register_listener("end_requested", events.end_requested)
        register_listener("end_request_declined", events.end_request_declined)
