"""`manage.py import_subscriptions FILE`: load the commerce feed into the subscription registry.

FILE is a path, a file:// URL, storage://ALIAS/NAME (a storage in settings.STORAGES) or
s3://BUCKET/KEY. Columns: subscription_id,tenant_id,product_code,channel,status,seats,start_date,
end_date. Bad rows are reported (line, column, reason) and skipped; the good ones are saved. The
command fails (exit status 1, nothing saved) only when the file cannot be read or its header is wrong.
"""

from __future__ import annotations

import csv
from contextlib import ExitStack
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from claims import feeds


class FeedCommand(BaseCommand):
    feed = "subscriptions"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path, file://, storage://ALIAS/NAME or s3://BUCKET/KEY")
        parser.add_argument(
            "--show", type=int, default=20, metavar="N", help="rejected rows to print (default 20)"
        )
        parser.add_argument("--errors", metavar="FILE", help="write every rejected row to this CSV file")

    def handle(self, *args: Any, **options: Any) -> None:
        with ExitStack() as stack:
            on_rejection = None
            if options["errors"]:
                try:
                    out = stack.enter_context(open(options["errors"], "w", newline="", encoding="utf-8"))  # noqa: SIM115
                except OSError as exc:
                    raise CommandError(f"Cannot write {options['errors']}: {exc}") from exc
                writer = csv.writer(out)
                writer.writerow(["line", "column", "reason"])

                def on_rejection(rejection: feeds.Rejection) -> None:
                    writer.writerow([rejection.line, rejection.column, rejection.reason])

            try:
                result = feeds.import_file(
                    self.feed, options["file"], keep=max(options["show"], 0), on_rejection=on_rejection
                )
            except feeds.FeedError as exc:
                raise CommandError(str(exc)) from exc
        style = self.style.SUCCESS if not result.rejected else self.style.WARNING
        self.stdout.write(style(result.summary()))
        if result.windows_1254_lines:
            self.stdout.write(
                f"{result.windows_1254_lines} lines were not UTF-8 and were read as Windows-1254."
            )
        for rejection in result.rejections:
            self.stdout.write(f"  {rejection}")
        hidden = result.rejected - len(result.rejections)
        if hidden > 0:
            where = (
                f" (all in {options['errors']})" if options["errors"] else " (--errors FILE lists them all)"
            )
            self.stdout.write(f"  … and {hidden} more{where}.")


class Command(FeedCommand):
    help = "Import the subscription feed (CSV) into the subscription registry."
    feed = "subscriptions"
