"""`manage.py import_usage FILE`: load the usage feed (active users per tenant, product and month).

FILE is a path, a file:// URL, storage://ALIAS/NAME or s3://BUCKET/KEY. Columns:
tenant_id,product_code,month,active_users (month YYYY-MM). Same reporting as import_subscriptions.
"""

from __future__ import annotations

from claims.management.commands.import_subscriptions import FeedCommand


class Command(FeedCommand):
    help = "Import the usage feed (CSV): monthly active users per tenant and product."
    feed = "usage"
