"""`manage.py create_api_key --user EMAIL [--scope read|write] [--name NAME]`; the key is the last line."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.auth import may_manage_keys
from api.models import ApiKey
from claims.selectors import membership_for


class Command(BaseCommand):
    help = "Create a Partner API key for a partner's Global or Incentives admin; prints the key last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="the email address of the key's owner")
        parser.add_argument("--scope", choices=ApiKey.Scope.values, default=ApiKey.Scope.READ)
        parser.add_argument("--name", default="Command line")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["user"].strip()
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user with the email address {email}.")
        membership = membership_for(user)
        if not may_manage_keys(membership):
            raise CommandError(f"{email} is not a Global or Incentives admin of a partner.")
        name = options["name"].strip()
        if not name or len(name) > 100:
            raise CommandError("--name is 1 to 100 characters.")
        key, secret = ApiKey.issue(
            name=name, partner=membership.partner, created_by=user, scope=options["scope"]
        )
        self.stdout.write(
            f"API key “{key.name}” ({key.get_scope_display()}) for {membership.partner.name}, as {email}."
        )
        self.stdout.write("It is shown only now; store it in your CRM's secret store.")
        self.stdout.write(secret)
