"""The subscription and usage feeds: read a CSV file, check each row, upsert the good ones.

`import_subscriptions(stream)` and `import_usage(stream)` are the one code path of the management
commands (`import_subscriptions FILE`, `import_usage FILE`), the admin's upload page and seed_demo.
The columns are fixed by the design (`../shared/DESIGN.md`, "Subscriptions, usage and earnings").

How a file is read, so that a 1 GB file streams in constant memory:
- bytes in chunks, split on any line ending (CRLF, LF, lone CR), a UTF-8 byte order mark dropped;
  each line is decoded as UTF-8, or as Windows-1254 (Turkish Excel's "CSV") when it is not UTF-8;
- the header names the columns (any order, case and surrounding spaces ignored; `;` as the
  separator when the header uses it); a wrong header refuses the whole file before anything is saved;
- each row is checked in Python against small maps loaded once (tenant GUID → id, product code →
  id); a bad row is reported with its line, column and reason and skipped;
- good rows go to the database in batches through a temporary staging table (`COPY` on PostgreSQL):
  a second temporary table remembers every key of this file, so a key seen on an earlier line
  rejects the later row without holding the file's keys in Python; then one
  `INSERT … ON CONFLICT DO UPDATE … WHERE <something differs>` per batch, so the same file twice
  writes nothing the second time.

The usage feed on PostgreSQL takes another road to the same result, many times faster on a large
file: the lines go to the database as they are and are checked there in SQL, in one transaction
(see "The usage feed on PostgreSQL" below). Both roads save the same rows and report the same
rejections (tests/claims/test_feed_sql.py runs files through both).
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claims.models import MonthlyUsage, Product, Subscription, Tenant

logger = logging.getLogger(__name__)

BATCH_ROWS = 20_000
USAGE_LOCK_WAIT = "30s"  # at most, for the usage table's lock (see _lock_usage)
TEMP_BUFFERS = "256MB"  # PostgreSQL memory for the staging tables of one import (see _Staging)
CHUNK_BYTES = 1 << 20
MAX_LINE_CHARS = 4_096  # a feed line is under 200 characters; far longer is not a feed line
MAX_INT = 2_147_483_647  # PositiveIntegerField's ceiling on every database
SHOWN_VALUE_CHARS = 40
BOM = b"\xef\xbb\xbf"

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class FeedError(Exception):
    """The import cannot go on; the message is fit to show the operator. For an unreadable file or a
    wrong header nothing was saved."""


class RowError(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


@dataclass(frozen=True)
class Rejection:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return _("line %(line)s, %(column)s: %(reason)s") % {
            "line": self.line,
            "column": self.column,
            "reason": self.reason,
        }


@dataclass
class ImportResult:
    """What one import did. `rejections` holds the first `keep` rejected rows; `rejected` counts all."""

    feed: str
    keep: int = 100
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    windows_1254_lines: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def saved(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def changed(self) -> int:
        return self.created + self.updated

    def summary(self) -> str:
        return _(
            "%(read)s rows read: %(saved)s saved (%(created)s new, %(updated)s changed, "
            "%(unchanged)s unchanged), %(rejected)s rejected."
        ) % {
            "read": self.rows_read,
            "saved": self.saved,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


# ---------------------------------------------------------------------------------------------
# Reading a file: where it is, its bytes, its lines


@contextmanager
def open_feed(location: str) -> Iterator[IO[bytes]]:
    """A binary stream of the feed at `location`: a local path, a `file://` URL, `storage://ALIAS/NAME`
    (a storage in settings.STORAGES) or `s3://BUCKET/KEY` (django-storages). Raises FeedError."""
    parsed = urlparse(location)
    scheme = parsed.scheme.lower()
    try:
        if scheme in ("", "file") or len(scheme) == 1:  # one letter: a Windows drive, a path
            if scheme == "file":
                if parsed.netloc not in ("", "localhost"):
                    raise FeedError(
                        _("A file:// URL must name a file on this machine: %(url)s") % {"url": location}
                    )
                path = Path(url2pathname(unquote(parsed.path)))
            else:
                path = Path(location)
            if not path.is_file():
                raise FeedError(_("No such file: %(path)s") % {"path": path})
            stream: IO[bytes] = path.open("rb")
        elif scheme == "storage":
            from django.core.files.storage import storages
            from django.core.files.storage.handler import InvalidStorageError

            try:
                storage = storages[parsed.netloc]
            except InvalidStorageError:
                raise FeedError(
                    _("No storage named %(alias)r in settings.STORAGES.") % {"alias": parsed.netloc}
                ) from None
            name = unquote(parsed.path.lstrip("/"))
            if not storage.exists(name):
                raise FeedError(
                    _("No file %(name)r in storage %(alias)r.") % {"name": name, "alias": parsed.netloc}
                )
            stream = storage.open(name, "rb")
        elif scheme == "s3":
            from storages.backends.s3 import S3Storage

            stream = S3Storage(bucket_name=parsed.netloc).open(unquote(parsed.path.lstrip("/")), "rb")
        else:
            raise FeedError(
                _("Cannot read %(scheme)s:// locations; give a path, file://, storage:// or s3:// URL.")
                % {"scheme": scheme}
            )
    except OSError as exc:
        raise FeedError(
            _("Cannot read %(location)s: %(error)s") % {"location": location, "error": exc}
        ) from exc
    try:
        yield stream
    finally:
        stream.close()


_OVERLONG = object()


def _physical_lines(stream: IO[bytes]) -> Iterator[bytes | object]:
    """The file's lines without their endings (CRLF, LF or CR, mixed), BOM dropped; a line far too
    long to be a feed row comes out as `_OVERLONG` (its bytes are skipped, not held)."""
    pending = b""
    skipping = False
    first = True
    while chunk := stream.read(CHUNK_BYTES):
        if first:
            first = False
            if chunk.startswith(BOM):
                chunk = chunk[len(BOM) :]
        data = pending + chunk
        # A CR at the end of the chunk may be the first half of a CRLF: keep it for the next round.
        held = b"\r" if data.endswith(b"\r") else b""
        body = data[: len(data) - len(held)]
        lines = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        pending = lines.pop() + held
        for line in lines:
            if skipping:
                skipping = False  # the rest of the overlong line ends here
                continue
            yield _OVERLONG if len(line) > MAX_LINE_CHARS else line
        if len(pending) > MAX_LINE_CHARS:
            if not skipping:
                yield _OVERLONG
            skipping = True
            pending = b""
    if pending.rstrip(b"\r") and not skipping:
        yield pending.rstrip(b"\r")


def _decoded_lines(stream: IO[bytes], result: ImportResult) -> Iterator[tuple[int, str | None]]:
    """(line number, text); text None for an overlong line. Not UTF-8 means Windows-1254."""
    for number, raw in enumerate(_physical_lines(stream), start=1):
        if raw is _OVERLONG:
            yield number, None
            continue
        assert isinstance(raw, bytes)
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError:
            result.windows_1254_lines += 1
            yield number, raw.decode("cp1254", errors="replace")


def _split(text: str, delimiter: str) -> list[str]:
    if '"' not in text:
        return [value.strip() for value in text.split(delimiter)]
    try:
        return [value.strip() for value in next(csv.reader([text], delimiter=delimiter))]
    except (csv.Error, StopIteration):
        return [text]


def _shown(value: str) -> str:
    """A value quoted for a message: printable, at most a few dozen characters."""
    value = "".join(ch if ch.isprintable() else "\ufffd" for ch in value)
    if len(value) > SHOWN_VALUE_CHARS:
        value = value[: SHOWN_VALUE_CHARS - 1] + "…"
    return f"“{value}”"


# ---------------------------------------------------------------------------------------------
# Checking one row


@dataclass
class _Lookups:
    tenants: dict[str, int]
    products: dict[str, int]
    this_month: tuple[int, int]
    months: dict[str, dt.date] = field(default_factory=dict)

    @classmethod
    def load(cls, now: dt.datetime) -> _Lookups:
        today = timezone.localdate(now)
        return cls(
            tenants={str(tenant_id): pk for tenant_id, pk in Tenant.objects.values_list("tenant_id", "pk")},
            products={code: pk for code, pk in Product.objects.values_list("code", "pk")},
            this_month=(today.year, today.month),
        )

    def guid(self, column: str, value: str) -> uuid.UUID:
        try:
            return uuid.UUID(value)
        except ValueError:
            raise RowError(column, _("%(value)s is not a GUID.") % {"value": _shown(value)}) from None

    def tenant(self, value: str) -> int:
        pk = self.tenants.get(value.lower())
        if pk is None:
            pk = self.tenants.get(str(self.guid("tenant_id", value)))
            if pk is None:
                raise RowError(
                    "tenant_id", _("No tenant %(value)s in the registry.") % {"value": _shown(value)}
                )
        return pk

    def product(self, value: str) -> int:
        pk = self.products.get(value) or self.products.get(value.lower())
        if pk is None:
            raise RowError(
                "product_code", _("No product with the code %(value)s.") % {"value": _shown(value)}
            )
        return pk

    def month(self, value: str) -> dt.date:
        # A feed repeats a handful of months over and over: remember the good ones.
        known = self.months.get(value)
        if known is not None:
            return known
        match = _MONTH.fullmatch(value)
        if not match or not 1 <= int(match[2]) <= 12 or match[1] == "0000":  # no year 0 in a date
            raise RowError("month", _("%(value)s is not a month written YYYY-MM.") % {"value": _shown(value)})
        year, month = int(match[1]), int(match[2])
        if (year, month) > self.this_month:
            raise RowError("month", _("%(value)s is in the future.") % {"value": _shown(value)})
        self.months[value] = dt.date(year, month, 1)
        return self.months[value]


def _count(column: str, value: str) -> int:
    if not (value.isascii() and value.isdigit()):
        if value.startswith("-") and value[1:].isascii() and value[1:].isdigit():
            raise RowError(column, _("%(value)s is negative.") % {"value": _shown(value)})
        raise RowError(column, _("%(value)s is not a whole number.") % {"value": _shown(value)})
    number = int(value) if len(value) <= 10 else MAX_INT + 1
    if number > MAX_INT:
        raise RowError(column, _("%(value)s is too large.") % {"value": _shown(value)})
    return number


def _date(column: str, value: str) -> dt.date:
    try:
        if _DATE.fullmatch(value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise RowError(column, _("%(value)s is not a date written YYYY-MM-DD.") % {"value": _shown(value)})


def _choice(column: str, value: str, choices: Any) -> str:
    lowered = value.lower()
    if lowered in choices.values:
        return lowered
    raise RowError(
        column,
        _("%(value)s is not one of %(allowed)s.")
        % {"value": _shown(value), "allowed": ", ".join(choices.values)},
    )


# ---------------------------------------------------------------------------------------------
# The two feeds


@dataclass(frozen=True)
class _Feed:
    name: str
    label: Any  # what a person calls it, translated
    columns: tuple[str, ...]  # the CSV header
    model: type
    key: tuple[str, ...]  # the model's columns that identify a row (the upsert's conflict target)
    values: tuple[str, ...]  # the model's other columns the feed sets
    nullable: frozenset[str]
    # The values in the order of `columns` → key + values, in the order of `staged`.
    parse: Callable[[_Lookups, list[str]], tuple[Any, ...]]

    @property
    def staged(self) -> tuple[str, ...]:
        return self.key + self.values

    @property
    def key_label(self) -> str:
        """The CSV columns of the key, as a rejection names them."""
        return " + ".join(self.columns[: len(self.key)])


def _parse_subscription(lookups: _Lookups, row: list[str]) -> tuple[Any, ...]:
    subscription_id = lookups.guid("subscription_id", row[0])
    tenant = lookups.tenant(row[1])
    product = lookups.product(row[2])
    channel = _choice("channel", row[3], Subscription.Channel)
    status = _choice("status", row[4], Subscription.Status)
    seats = _count("seats", row[5])
    start = _date("start_date", row[6])
    end = _date("end_date", row[7]) if row[7] else None
    if end is not None and end < start:
        raise RowError("end_date", _("The end date is before the start date."))
    return (subscription_id, tenant, product, channel, status, seats, start, end)


def _parse_usage(lookups: _Lookups, row: list[str]) -> tuple[Any, ...]:
    return (
        lookups.tenant(row[0]),
        lookups.product(row[1]),
        lookups.month(row[2]),
        _count("active_users", row[3]),
    )


SUBSCRIPTIONS = _Feed(
    name="subscriptions",
    label=gettext_lazy("subscription feed"),
    columns=(
        "subscription_id",
        "tenant_id",
        "product_code",
        "channel",
        "status",
        "seats",
        "start_date",
        "end_date",
    ),
    model=Subscription,
    key=("subscription_id",),
    values=("tenant_id", "product_id", "channel", "status", "seats", "start_date", "end_date"),
    nullable=frozenset({"end_date"}),
    parse=_parse_subscription,
)
USAGE = _Feed(
    name="usage",
    label=gettext_lazy("usage feed"),
    columns=("tenant_id", "product_code", "month", "active_users"),
    model=MonthlyUsage,
    key=("tenant_id", "product_id", "month"),
    values=("active_users",),
    nullable=frozenset(),
    parse=_parse_usage,
)


def import_subscriptions(stream: IO[bytes], **options: Any) -> ImportResult:
    """Upsert the subscription feed by subscription_id. A subscription that leaves active/grace gets
    `inactive_since` = `now` (kept while it stays out); one that returns has it cleared."""
    return _import(SUBSCRIPTIONS, stream, **options)


def import_usage(stream: IO[bytes], **options: Any) -> ImportResult:
    """Upsert the usage feed by (tenant, product, month)."""
    return _import(USAGE, stream, **options)


def import_file_stream(feed: str, stream: IO[bytes], **options: Any) -> ImportResult:
    """Import `stream` as the feed named `feed` ("subscriptions" or "usage")."""
    return _import({"subscriptions": SUBSCRIPTIONS, "usage": USAGE}[feed], stream, **options)


def import_file(feed: str, location: str, **options: Any) -> ImportResult:
    """Import the file at `location` (see `open_feed`) as the feed named `feed`."""
    with open_feed(location) as stream:
        return import_file_stream(feed, stream, **options)


# ---------------------------------------------------------------------------------------------
# The import loop


def _import(
    feed: _Feed,
    stream: IO[bytes],
    *,
    now: dt.datetime | None = None,
    keep: int = 100,
    on_rejection: Callable[[Rejection], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportResult:
    """Read, check and upsert `stream`: report every bad row, save every good one. Raises FeedError
    when the file cannot be read or its header is wrong (nothing saved), or when the database refuses
    a batch (the batches before it saved)."""
    now = now or timezone.now()
    result = ImportResult(feed=feed.name, keep=keep)

    def reject(line: int, column: str, reason: str) -> None:
        rejection = Rejection(line, column, reason)
        result.rejected += 1
        if len(result.rejections) < keep:
            result.rejections.append(rejection)
        if on_rejection is not None:
            on_rejection(rejection)

    if feed is USAGE and connection.vendor == "postgresql" and _server_reads_utf8():
        return _import_usage_in_sql(stream, result, reject, now)
    try:
        lines = _decoded_lines(stream, result)
        delimiter, order = _read_header(feed, lines)
        lookups = _Lookups.load(now)
        with _Staging(feed, now) as staging:
            batch: list[tuple[Any, ...]] = []
            for number, text in lines:
                if text is None:
                    result.rows_read += 1
                    reject(
                        number, "—", _("The line is longer than %(n)s characters.") % {"n": MAX_LINE_CHARS}
                    )
                    continue
                if not text.strip():
                    continue
                result.rows_read += 1
                values = _split(text, delimiter)
                if len(values) > len(feed.columns) and not any(values[len(feed.columns) :]):
                    del values[len(feed.columns) :]  # a spreadsheet's empty trailing cells
                if len(values) != len(feed.columns):
                    reject(
                        number,
                        "—",
                        _("Expected %(expected)s values separated by “%(sep)s”, found %(found)s.")
                        % {"expected": len(feed.columns), "sep": delimiter, "found": len(values)},
                    )
                    continue
                if order is not None:
                    values = [values[i] for i in order]
                try:
                    row = feed.parse(lookups, values)
                except RowError as error:
                    reject(number, error.column, error.reason)
                    continue
                batch.append((number, *row))
                if len(batch) >= batch_rows:
                    staging.flush(batch, result, reject)
                    batch = []
            if batch:
                staging.flush(batch, result, reject)
    except OSError as exc:
        raise FeedError(_("Cannot read the file: %(error)s") % {"error": exc}) from exc
    except DatabaseError as exc:
        # A tenant deleted mid-import, a deadlock with another import, the database gone: the batch
        # rolled back; the earlier ones stay, and the import is safe to run again.
        logger.exception("The %s import stopped at a database error", feed.name)
        raise FeedError(
            _(
                "The database refused a batch (%(error)s). "
                "The rows before it were saved; run the import again."
            )
            % {"error": type(exc).__name__}
        ) from exc
    return result


def _read_header(feed: _Feed, lines: Iterator[tuple[int, str | None]]) -> tuple[str, list[int] | None]:
    """The separator, and where each of the feed's columns is (None: in the design's order)."""
    for number, text in lines:
        if text is None:
            raise FeedError(_("Line %(line)s is not a CSV header: it is far too long.") % {"line": number})
        if text.strip():
            break
    else:
        raise FeedError(
            _("The file is empty: expected the header %(header)s.") % {"header": ",".join(feed.columns)}
        )
    delimiter = ";" if text.count(";") > text.count(",") else ","
    names = [name.strip().strip('"').strip().lower() for name in _split(text, delimiter)]
    while names and not names[-1]:
        names.pop()  # a spreadsheet's empty trailing columns
    expected = ", ".join(feed.columns)
    missing = [c for c in feed.columns if c not in names]
    unexpected = [n for n in names if n not in feed.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if missing or unexpected or repeated:
        problems = []
        if missing:
            problems.append(_("missing %(columns)s") % {"columns": ", ".join(missing)})
        if unexpected:
            problems.append(
                _("unexpected %(columns)s") % {"columns": ", ".join(_shown(n) for n in unexpected[:5])}
            )
        if repeated:
            problems.append(_("repeated %(columns)s") % {"columns": ", ".join(repeated)})
        raise FeedError(
            _(
                "Line %(line)s is not the header of the %(feed)s (%(problems)s). "
                "Expected the columns: %(expected)s."
            )
            % {"line": number, "feed": feed.label, "problems": "; ".join(problems), "expected": expected}
        )
    order = [names.index(column) for column in feed.columns]
    return delimiter, None if order == list(range(len(order))) else order


# ---------------------------------------------------------------------------------------------
# Writing: staging table, the file's keys, upsert


def _grow_temp_buffers() -> None:
    """An import's temporary tables outgrow PostgreSQL's default 8 MB of temporary-table memory at
    about 100,000 rows, and then every statement reads them back from disk. A session may raise the
    limit only before it first touches a temporary table; later (a second import on a kept-alive
    connection) it keeps what it has."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET temp_buffers = '{TEMP_BUFFERS}'")
    except DatabaseError:
        pass


class _Staging:
    """Two temporary tables for one import on this connection: the stage (the batch) and the seen
    keys (every key of the file so far, with its first line).

    The SQL is built from the feed's constants and the model's column names only; every value from
    the file travels as a parameter or through COPY."""

    stage = "cpor_feed_stage"
    seen = "cpor_feed_seen"

    def __init__(self, feed: _Feed, now: dt.datetime) -> None:
        self.feed = feed
        self.now = now
        self.postgres = connection.vendor == "postgresql"
        meta = feed.model._meta
        self.table = connection.ops.quote_name(meta.db_table)
        self.fields = {f.column: f for f in meta.concrete_fields}

    # SQL pieces -------------------------------------------------------------------------------

    def _type(self, column: str) -> str:
        return self.fields[column].db_type(connection) or "text"

    def _same(self, left: str, right: str, column: str) -> str:
        if column not in self.feed.nullable:
            return f"{left}.{column} = {right}.{column}"
        op = "IS NOT DISTINCT FROM" if self.postgres else "IS"
        return f"{left}.{column} {op} {right}.{column}"

    def _differs(self, left: str, right: str) -> str:
        return "NOT (" + " AND ".join(self._same(left, right, c) for c in self.feed.values) + ")"

    def _key_join(self, left: str, right: str) -> str:
        return " AND ".join(f"{left}.{c} = {right}.{c}" for c in self.feed.key)

    def _execute(self, sql: str, params: Iterable[Any] = ()) -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            return cursor.fetchall() if cursor.description else None

    # Life cycle -------------------------------------------------------------------------------

    def __enter__(self) -> _Staging:
        self._drop()
        if self.postgres:
            _grow_temp_buffers()
        staged = ", ".join(f"{c} {self._type(c)}" for c in self.feed.staged)
        keys = ", ".join(f"{c} {self._type(c)}" for c in self.feed.key)
        key_list = ", ".join(self.feed.key)
        self._execute(f"CREATE TEMPORARY TABLE {self.stage} (line integer NOT NULL, {staged})")
        self._execute(
            f"CREATE TEMPORARY TABLE {self.seen} ({keys}, line integer NOT NULL, PRIMARY KEY ({key_list}))"
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self._drop()

    def _drop(self) -> None:
        if connection.needs_rollback:
            return  # the surrounding transaction rolls back, taking the temporary tables with it
        for table in (self.stage, self.seen):
            self._execute(f"DROP TABLE IF EXISTS {table}")

    # One batch ----------------------------------------------------------------------------------

    def flush(
        self, batch: list[tuple[Any, ...]], result: ImportResult, reject: Callable[[int, str, str], None]
    ) -> None:
        with transaction.atomic():
            if self.postgres:
                # Do not wait for each batch's commit to reach the disk: a crash loses at most the
                # last batches, and running the import again (it is idempotent) writes them.
                self._execute("SET LOCAL synchronous_commit TO OFF")
            self._load(batch)
            if self.feed is USAGE and not _references_held(self.stage):
                # MonthlyUsage's foreign keys have no constraint to refuse the batch: refuse it here.
                raise IntegrityError("a tenant or product of the batch was deleted during the import")
            firsts = self._remember_keys()
            if len(firsts) < len(batch):
                later = [row[0] for row in batch if row[0] not in firsts]
                for line, first in self._earlier_lines(later):
                    reject(line, self.feed.key_label, _("The same key as line %(first)s.") % {"first": first})
                with connection.cursor() as cursor:
                    cursor.executemany(f"DELETE FROM {self.stage} WHERE line = %s", [(n,) for n in later])  # noqa: S608
            if self.postgres:
                created, written = self._upsert()
            else:
                fresh, existing, changing = self._count()
                created, written = fresh - existing, fresh - existing + changing
                if written:
                    self._upsert()
            result.created += created
            result.updated += written - created
            result.unchanged += len(firsts) - written

    def _load(self, batch: list[tuple[Any, ...]]) -> None:
        columns = ", ".join(("line", *self.feed.staged))
        if self.postgres:
            self._execute(f"TRUNCATE {self.stage}")
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY {self.stage} ({columns}) FROM STDIN") as copy,
            ):
                for row in batch:
                    copy.write_row(row)
            return
        self._execute(f"DELETE FROM {self.stage}")  # noqa: S608
        prep = [(lambda v: v)] + [
            (lambda v, f=self.fields[c]: f.get_db_prep_value(v, connection, prepared=False))
            for c in self.feed.staged
        ]
        rows = [tuple(p(v) for p, v in zip(prep, row, strict=True)) for row in batch]
        marks = ", ".join(["%s"] * len(prep))
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {self.stage} ({columns}) VALUES ({marks})", rows)  # noqa: S608

    def _remember_keys(self) -> set[int]:
        """Add the batch's keys to the file's keys; the lines whose key is new (the rest repeat a key)."""
        keys = ", ".join(self.feed.key)
        rows = self._execute(
            f"INSERT INTO {self.seen} ({keys}, line) SELECT {keys}, MIN(line) FROM {self.stage} "  # noqa: S608
            f"WHERE 1 = 1 GROUP BY {keys} ON CONFLICT DO NOTHING RETURNING line"
        )
        return {line for (line,) in rows}

    def _earlier_lines(self, later: list[int]) -> list[tuple[int, int]]:
        """(line, the earlier line with the same key) for each of `later`."""
        found: list[tuple[int, int]] = []
        for start in range(0, len(later), 500):
            chunk = later[start : start + 500]
            found += self._execute(
                f"SELECT s.line, n.line FROM {self.stage} s JOIN {self.seen} n "  # noqa: S608
                f"ON {self._key_join('s', 'n')} WHERE s.line IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            )
        return sorted(found)

    def _count(self) -> tuple[int, int, int]:
        """The staged rows; those already saved; those saved with other values."""
        key = self.feed.key[0]
        (fresh, existing, changing), *_ = self._execute(
            f"SELECT COUNT(*), COUNT(t.{key}), "  # noqa: S608
            f"COALESCE(SUM(CASE WHEN t.{key} IS NOT NULL AND {self._differs('t', 's')} THEN 1 END), 0) "
            f"FROM {self.stage} s LEFT JOIN {self.table} t ON {self._key_join('t', 's')}"
        )
        return fresh, existing, changing

    def _upsert(self) -> tuple[int, int]:
        """Insert the staged rows, update those saved with other values; on PostgreSQL, (rows
        created, rows written), read from the system column xmax (0 on a freshly inserted row)."""
        feed = self.feed
        columns = list(feed.staged)
        selected = [f"s.{c}" for c in columns]
        updates = [f"{c} = excluded.{c}" for c in feed.values]
        params: list[Any] = []
        if feed is SUBSCRIPTIONS:
            live = ", ".join(f"'{status}'" for status in Subscription.LIVE_STATUSES)
            now = connection.ops.adapt_datetimefield_value(self.now)
            columns += ["inactive_since", "updated_at"]
            selected += [f"CASE WHEN s.status IN ({live}) THEN NULL ELSE %s END", "%s"]
            params += [now, now]
            updates += [
                f"inactive_since = CASE WHEN excluded.status IN ({live}) THEN NULL "
                f"WHEN {self.table}.status IN ({live}) THEN excluded.inactive_since "
                f"ELSE {self.table}.inactive_since END",
                "updated_at = excluded.updated_at",
            ]
        upsert = (
            f"INSERT INTO {self.table} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(selected)} FROM {self.stage} s WHERE 1 = 1 "
            f"ON CONFLICT ({', '.join(feed.key)}) DO UPDATE SET {', '.join(updates)} "
            f"WHERE {self._differs(self.table, 'excluded')}"
        )
        if not self.postgres:
            self._execute(upsert, params)
            return 0, 0
        (created, written), *_ = self._execute(
            f"WITH written AS ({upsert} RETURNING xmax = 0 AS created) "  # noqa: S608
            "SELECT COUNT(*) FILTER (WHERE created), COUNT(*) FROM written",
            params,
        )
        return created, written


# ---------------------------------------------------------------------------------------------
# The usage feed on PostgreSQL: the file goes to the database whole, and SQL checks and upserts it
#
# A usage file is millions of short rows; checking each in Python and upserting in batches costs
# dozens of times PostgreSQL's own COPY of the same file. On PostgreSQL the usage import instead:
# - streams the file in 1 MB chunks of whole lines (BOM dropped, line endings made LF, both at C
#   speed) into a temporary table of one text value per physical line, numbered in input order by
#   an identity column that starts at the line after the header (`COPY … FROM STDIN`, text format,
#   backslashes escaped: no line can break the COPY, so there is nothing to fall back from). Only
#   a chunk that is not plain ASCII or holds a quote, a space, a tab or another control character
#   is read line by line in Python (`_LineCopier._line`): each line decoded as UTF-8 or
#   Windows-1254, split and stripped by `_split`, and sent rejoined, so SQL need neither parse CSV
#   quoting nor strip Unicode whitespace;
# - checks every line in one statement (the same checks, in the same order, as `_parse_usage`)
#   into a second temporary table: a problem code and the offending value, or the row's resolved
#   ids. The common row costs three hash joins on its text (tenant GUID, product code, month);
#   regular expressions run only on the rows those miss;
# - reports the rejected lines in line order, with the messages of the Python path, through a
#   server-side cursor (memory does not grow with the number of bad rows);
# - locks MonthlyUsage against other writers (SHARE ROW EXCLUSIVE: readers go on, a second import
#   waits here; `_lock_usage`), then takes a key-share lock on the tenants and products the rows
#   name (what a foreign key check takes, once per tenant instead of once per row: MonthlyUsage's
#   foreign keys have no database constraint, see migration 0016);
# - inserts the first row of each key not saved yet, sorted by the unique key so the index grows at
#   its right edge, and updates the saved rows whose count differs: a plain INSERT and UPDATE, no
#   ON CONFLICT, since with the lock held no one else can save a key meanwhile.
# It is one transaction: an error saves nothing. SQLite (tests, `make run`) keeps the Python path.

_PROBLEM_COLUMNS = {
    1: "—",
    2: "—",
    3: "tenant_id",
    4: "tenant_id",
    5: "product_code",
    6: "month",
    7: "month",
    8: "active_users",
    9: "active_users",
    10: "active_users",
}
# What str.strip() strips: SQL trims values with the same characters.
_WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
_SPLIT_MARK, _SPLIT_SEP = "\x1e", "\x1f"
# In a chunk, what SQL would not read as Python does: quotes, NUL, the marks, any whitespace but LF
# (str.strip() strips U+001C…U+001F too).
_NEEDS_PYTHON = re.compile(rb'["\x00\t\x0b\x0c\x1c-\x1f ]')


def _server_reads_utf8() -> bool:
    """COPY sends UTF-8 text; a database in another encoding could refuse a character of it."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_encoding")
        (encoding,) = cursor.fetchone()
    return encoding.upper().replace("-", "") == "UTF8"


def _line_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    """The file as chunks of whole lines, each line ending in LF (CRLF and lone CR made LF), the
    BOM dropped. A line far longer than a feed line becomes MAX_LINE_CHARS + 1 × "x" (its bytes
    are skipped, not held), which the check rejects as overlong like `_physical_lines` does."""
    pending = b""
    skipping = False
    first = True
    while chunk := stream.read(CHUNK_BYTES):
        if first:
            first = False
            if chunk.startswith(BOM):
                chunk = chunk[len(BOM) :]
        data = pending + chunk
        # A CR at the end of the chunk may be the first half of a CRLF: keep it for the next round.
        held = b"\r" if data.endswith(b"\r") else b""
        body = data[: len(data) - len(held)].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        cut = body.rfind(b"\n") + 1
        complete, pending = body[:cut], body[cut:] + held
        if skipping and complete:
            complete = complete[complete.index(b"\n") + 1 :]  # the rest of the overlong line
            skipping = False
        if complete:
            yield complete
        if len(pending) > MAX_LINE_CHARS:
            if not skipping:
                yield b"x" * (MAX_LINE_CHARS + 1) + b"\n"
                skipping = True
            pending = b""
    tail = pending.rstrip(b"\r")
    if tail and not skipping:
        yield tail + b"\n"


def _decode(raw: bytes, result: ImportResult) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        result.windows_1254_lines += 1
        return raw.decode("cp1254", errors="replace")


class _LineCopier:
    """Turns the chunks of `_line_chunks` into COPY text-format rows of one value each."""

    def __init__(self, delimiter: str, result: ImportResult) -> None:
        self.delimiter = delimiter
        self.result = result

    def __call__(self, chunk: bytes) -> bytes:
        # The common chunk (ASCII, no quote, no space) goes as it is, only backslashes escaped.
        if chunk.isascii() and not _NEEDS_PYTHON.search(chunk):
            return chunk.replace(b"\\", b"\\\\") if b"\\" in chunk else chunk
        return b"".join(self._line(raw) for raw in chunk.split(b"\n")[:-1])

    def _line(self, raw: bytes) -> bytes:
        """One line as `_split` reads it: values stripped, rejoined by the separator, or by U+001F
        behind a leading U+001E when a value holds the separator."""
        if len(raw) > MAX_LINE_CHARS:
            return b"x" * (MAX_LINE_CHARS + 1) + b"\n"
        # A NUL cannot be stored in text; shown in a message it would be U+FFFD anyway, as would
        # the two marks.
        text = _decode(raw, self.result).replace("\x00", "\ufffd")
        if not text.strip():
            return b"\n"
        values = [
            v.replace(_SPLIT_MARK, "\ufffd").replace(_SPLIT_SEP, "\ufffd")
            for v in _split(text, self.delimiter)
        ]
        if any(self.delimiter in v for v in values):
            text = _SPLIT_MARK + _SPLIT_SEP.join(values)
        else:
            text = self.delimiter.join(values)
        return text.replace("\\", "\\\\").replace("\t", "\\t").encode() + b"\n"


def _is_utf8(chunk: bytes) -> bool:
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _usage_header(chunks: Iterator[bytes], result: ImportResult) -> tuple[str, list[int] | None, int, bytes]:
    """Read the header from the first chunks: (separator, column order, its line number, the rest
    of its chunk). Raises FeedError like `_read_header`."""
    number = 0
    for chunk in chunks:
        start = 0
        while start < len(chunk):
            end = chunk.index(b"\n", start)
            raw, start = chunk[start:end], end + 1
            number += 1
            text = None if len(raw) > MAX_LINE_CHARS else _decode(raw, result)
            if text is None or text.strip():
                delimiter, order = _read_header(USAGE, iter([(number, text)]))
                return delimiter, order, number, chunk[start:]
    _read_header(USAGE, iter(()))  # raises: the file is empty
    raise AssertionError("unreachable")


def _import_usage_in_sql(
    stream: IO[bytes], result: ImportResult, reject: Callable[[int, str, str], None], now: dt.datetime
) -> ImportResult:
    try:
        chunks = _line_chunks(stream)
        delimiter, order, header_line, rest = _usage_header(chunks, result)
        _grow_temp_buffers()
        with transaction.atomic():
            # For this transaction only:
            # - synchronous_commit off: see _Staging.flush;
            # - work_mem: the sorts by key stay in memory;
            # - no JIT: compiling these statements costs seconds and saves less (their work is in
            #   functions);
            # - no merge join: the joins to tenants, products and months are lookups in small
            #   tables; the planner, blind to the values a CTE computes, would sort a million rows;
            # - no nested loop: in the upsert, one over a freshly emptied and analysed table would
            #   rescan the pages it is writing, once per row of the file.
            _execute_sql(
                "SELECT set_config('synchronous_commit', 'off', true), "
                "set_config('work_mem', '256MB', true), set_config('jit', 'off', true), "
                "set_config('enable_mergejoin', 'off', true), "
                "set_config('enable_nestloop', 'off', true)"
            )
            _copy_lines(chunks, rest, header_line, _LineCopier(delimiter, result))
            result.rows_read = _check_lines(delimiter, order, now)
            good, keys = _first_of_each_key()
            _report_rejections(reject, delimiter, repeats=good > keys)
            _lock_usage()
            if not _references_held("cpor_usage_checked WHERE problem = 0"):
                raise FeedError(
                    _(
                        "A tenant or product named in the file was deleted during the import. "
                        "Nothing was saved; run the import again."
                    )
                )
            created, written = _upsert_checked()
    except OSError as exc:
        raise FeedError(_("Cannot read the file: %(error)s") % {"error": exc}) from exc
    except DatabaseError as exc:
        logger.exception("The usage import stopped at a database error")
        raise FeedError(
            _("The database refused the import (%(error)s). Nothing was saved; run the import again.")
            % {"error": type(exc).__name__}
        ) from exc
    result.created = created
    result.updated = written - created
    result.unchanged = keys - written
    return result


def _execute_sql(sql: str, params: Any = ()) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def _copy_lines(
    chunks: Iterator[bytes], rest: bytes, header_line: int, copier: Callable[[bytes], bytes]
) -> None:
    _execute_sql("DROP TABLE IF EXISTS cpor_usage_lines, cpor_usage_checked, cpor_usage_first")
    _execute_sql(
        "CREATE TEMPORARY TABLE cpor_usage_lines ("
        f"line bigint GENERATED ALWAYS AS IDENTITY (START WITH {header_line + 1:d}), raw text NOT NULL"
        ") ON COMMIT DROP"
    )
    with connection.cursor() as cursor, cursor.copy("COPY cpor_usage_lines (raw) FROM STDIN") as copy:
        if rest:
            copy.write(copier(rest))
        for chunk in chunks:
            copy.write(copier(chunk))
    _execute_sql("ANALYZE cpor_usage_lines")  # a temporary table has no statistics until asked


def _check_lines(delimiter: str, order: list[int] | None, now: dt.datetime) -> int:
    """Check every staged line as `_parse_usage` would, into cpor_usage_checked: (line, problem,
    value) for a bad line — problem the first failing check, numbered as `_PROBLEM_COLUMNS`, value
    the offending text — and (line, 0, tenant, product, month, users) for a good one. Returns the
    number of lines that are rows (not blank)."""
    tenant_at, product_at, month_at, users_at = (i + 1 for i in (order or range(len(USAGE.columns))))
    today = timezone.localdate(now)
    params = {
        "sep": delimiter,
        "ws": _WHITESPACE,
        "max_line": MAX_LINE_CHARS,
        "columns": len(USAGE.columns),
        "this_month": f"{today.year:04}-{today.month:02}-01",
        "max_int": MAX_INT,
    }
    # The values of the file reach this SQL only as data (the staged lines); the column positions
    # are integers computed above.
    hex_of_tv = "replace(btrim(replace(replace(tv, 'urn:', ''), 'uuid:', ''), '{}'), '-', '')"  # uuid.UUID's
    _execute_sql(
        f"""
        CREATE TEMPORARY TABLE cpor_usage_checked ON COMMIT DROP AS
        WITH cut AS (
            SELECT line, raw AS body, %(sep)s AS sep
            FROM cpor_usage_lines WHERE raw <> '' AND left(raw, 1) <> chr(30)
            UNION ALL
            SELECT line, substr(raw, 2), chr(31) FROM cpor_usage_lines WHERE left(raw, 1) = chr(30)
        ), cells AS MATERIALIZED (
            -- Materialized: each value is cut once, not once per use below. Values come trimmed.
            SELECT line, octet_length(body) > %(max_line)s AS overlong,
                   CASE WHEN octet_length(body) > %(max_line)s THEN 0
                        WHEN octet_length(body) - octet_length(replace(body, sep, '')) + 1 <= %(columns)s
                        THEN octet_length(body) - octet_length(replace(body, sep, '')) + 1
                        -- a spreadsheet's empty trailing cells do not count
                        WHEN array_to_string((string_to_array(body, sep))[%(columns)s + 1:], '') = ''
                        THEN %(columns)s
                        ELSE octet_length(body) - octet_length(replace(body, sep, '')) + 1 END AS n,
                   split_part(body, sep, {tenant_at:d}) AS tv, split_part(body, sep, {product_at:d}) AS pv,
                   split_part(body, sep, {month_at:d}) AS mv, split_part(body, sep, {users_at:d}) AS uv
            FROM cut
        ), months AS (
            SELECT to_char(first, 'YYYY-MM') AS label, first::date AS first
            FROM generate_series(date '0001-01-01', %(this_month)s::date, interval '1 month') AS first
        ), judged AS (
            -- The common row is resolved by three hash joins on its text; only a row they miss is
            -- looked at again: a GUID written otherwise (what Python's uuid.UUID accepts: urn: and
            -- uuid: prefixes, braces, hyphens anywhere), a product code in capitals, a bad month.
            SELECT c.line, c.n, c.tv, c.pv, c.mv, c.uv, m.first AS month, c.overlong,
                   coalesce(t.id, (
                       SELECT id FROM claims_tenant
                       WHERE tenant_id = CASE WHEN {hex_of_tv} ~ '^[0-9A-Fa-f]{{32}}$'
                                              THEN {hex_of_tv}::uuid END
                   )) AS tenant,
                   coalesce(p.id, (SELECT id FROM claims_product WHERE code = lower(c.pv))) AS product
            FROM cells c
            LEFT JOIN (SELECT id, tenant_id::text AS label FROM claims_tenant) t ON t.label = c.tv
            LEFT JOIN claims_product p ON p.code = c.pv
            LEFT JOIN months m ON m.label = c.mv
            OFFSET 0  -- a fence: each row's ids are looked up once, not once per use below
        ), problems AS (
            SELECT *, CASE
                WHEN overlong THEN 1
                WHEN n <> %(columns)s THEN 2
                WHEN tenant IS NULL AND {hex_of_tv} !~ '^[0-9A-Fa-f]{{32}}$' THEN 3
                WHEN tenant IS NULL THEN 4
                WHEN product IS NULL THEN 5
                WHEN month IS NULL AND (mv !~ '^[0-9]{{4}}-(0[1-9]|1[0-2])$' OR mv < '0001') THEN 6
                WHEN month IS NULL THEN 7
                WHEN uv <> '' AND translate(uv, '0123456789', '') = '' AND octet_length(uv) <= 10
                     AND uv::bigint <= %(max_int)s THEN 0
                WHEN uv ~ '^-[0-9]+$' THEN 8
                WHEN uv !~ '^[0-9]+$' THEN 9
                ELSE 10
            END AS problem
            FROM judged
            OFFSET 0  -- the same: each row's problem is worked out once
        )
        SELECT line, problem::smallint AS problem,
               CASE problem WHEN 0 THEN NULL WHEN 1 THEN NULL WHEN 2 THEN n::text
                            WHEN 3 THEN tv WHEN 4 THEN tv WHEN 5 THEN pv WHEN 6 THEN mv WHEN 7 THEN mv
                            ELSE uv END AS value,
               tenant AS tenant_id, product AS product_id, month,
               CASE problem WHEN 0 THEN uv::integer END AS active_users
        FROM problems
        """,  # noqa: S608
        params,
    )
    ((rows,),) = _execute_sql("SELECT count(*) FROM cpor_usage_checked")
    return rows


def _first_of_each_key() -> tuple[int, int]:
    """The first good line of each key, sorted by the key, into cpor_usage_first: what
    `_upsert_checked` saves, and what tells a later line of the same key. (good rows, keys)"""
    _execute_sql(
        """
        CREATE TEMPORARY TABLE cpor_usage_first ON COMMIT DROP AS
        SELECT DISTINCT ON (tenant_id, product_id, month) tenant_id, product_id, month, active_users, line
        FROM cpor_usage_checked WHERE problem = 0
        ORDER BY tenant_id, product_id, month, line
        """
    )
    ((good, keys),) = _execute_sql(
        "SELECT (SELECT count(*) FROM cpor_usage_checked WHERE problem = 0), "
        "(SELECT count(*) FROM cpor_usage_first)"
    )
    return good, keys


def _report_rejections(reject: Callable[[int, str, str], None], delimiter: str, *, repeats: bool) -> None:
    """Every bad line, in line order: those the check found, and (`repeats`: there are some) those
    repeating the key of an earlier good line. Read through a server-side cursor, a few thousand at a
    time."""
    sql = "SELECT line, problem, value FROM cpor_usage_checked WHERE problem > 0"
    if repeats:
        sql += """
            UNION ALL
            SELECT c.line, 11, f.line::text
            FROM cpor_usage_checked c JOIN cpor_usage_first f USING (tenant_id, product_id, month)
            WHERE c.problem = 0 AND c.line > f.line
        """
    with connection.connection.cursor(name="cpor_usage_rejections") as cursor:
        cursor.itersize = 5_000
        cursor.execute(sql + " ORDER BY line")
        for line, problem, value in cursor:
            reject(line, *_problem_message(problem, value, delimiter))


def _problem_message(problem: int, value: str | None, delimiter: str) -> tuple[str, str]:
    """(column, reason) of a problem found by `_check_lines`, worded as the Python path words it."""
    if problem == 11:
        return USAGE.key_label, _("The same key as line %(first)s.") % {"first": value}
    if problem == 1:
        return "—", _("The line is longer than %(n)s characters.") % {"n": MAX_LINE_CHARS}
    column = _PROBLEM_COLUMNS[problem]
    if problem == 2:
        return column, _("Expected %(expected)s values separated by “%(sep)s”, found %(found)s.") % {
            "expected": len(USAGE.columns),
            "sep": delimiter,
            "found": value,
        }
    shown = {"value": _shown(value or "")}
    reason = {
        3: _("%(value)s is not a GUID."),
        4: _("No tenant %(value)s in the registry."),
        5: _("No product with the code %(value)s."),
        6: _("%(value)s is not a month written YYYY-MM."),
        7: _("%(value)s is in the future."),
        8: _("%(value)s is negative."),
        9: _("%(value)s is not a whole number."),
        10: _("%(value)s is too large."),
    }[problem]
    return column, reason % shown


def _references_held(rows: str) -> bool:
    """Whether every tenant and product that `rows` (a table and its condition) name still exists,
    each held with a key-share lock on PostgreSQL, as a foreign key check would hold it: until this
    import commits no one can delete them (the deletion waits, and then its cascade, which the
    database does for MonthlyUsage since migration 0016, takes the new rows too). False: one was
    deleted since the rows were checked, and saving them would leave rows pointing nowhere."""
    lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    # One pass over the rows: their (tenant, product) pairs are far fewer than they are.
    ((tenants, tenants_held, products, products_held),) = _execute_sql(
        f"WITH pairs AS (SELECT tenant_id, product_id FROM {rows} GROUP BY tenant_id, product_id), "  # noqa: S608
        "tenants AS (SELECT DISTINCT tenant_id AS id FROM pairs), "
        "products AS (SELECT DISTINCT product_id AS id FROM pairs) "
        "SELECT (SELECT count(*) FROM tenants), "
        f"(SELECT count(*) FROM (SELECT 1 FROM claims_tenant WHERE id IN (SELECT id FROM tenants){lock}) t), "
        "(SELECT count(*) FROM products), "
        "(SELECT count(*) FROM "
        f"(SELECT 1 FROM claims_product WHERE id IN (SELECT id FROM products){lock}) p)"
    )
    return tenants_held == tenants and products_held == products


def _lock_usage() -> None:
    """Serialise the writers of MonthlyUsage until this import commits, not its readers: SHARE ROW
    EXCLUSIVE conflicts with every writer's ROW EXCLUSIVE (and with itself: a second import waits
    here) but not with SELECT's ACCESS SHARE nor with SELECT … FOR UPDATE/SHARE's ROW SHARE. With
    no one else writing, `_upsert_checked` can insert the keys it did not find and update those it
    found, without ON CONFLICT's speculative insertion. Taken before the key-share locks on tenants
    and products: a tenant deletion through Django deletes the tenant's usage first, so it either
    finishes before this import looks for the tenant or waits for the import to commit. (The lock
    also waits for a running VACUUM or ANALYZE of the table; autovacuum gives way to it after
    deadlock_timeout. A tenant deleted by raw SQL, which deletes the tenant before the trigger of
    migration 0016 deletes its usage, can deadlock with an import: PostgreSQL then fails one of
    the two, and the import says to run it again.) It waits at most USAGE_LOCK_WAIT (an
    anti-wraparound vacuum does not give way); then nothing is saved and the import says to run it
    again."""
    # One round trip; DEFAULT is the connection's own setting again for the rest of the import.
    _execute_sql(
        "SET LOCAL lock_timeout = %s; LOCK TABLE claims_monthlyusage IN SHARE ROW EXCLUSIVE MODE; "
        "SET LOCAL lock_timeout TO DEFAULT",
        [USAGE_LOCK_WAIT],
    )


def _upsert_checked() -> tuple[int, int]:
    """Insert the first good row of each key not saved yet (cpor_usage_first), in the order of the
    unique key (the index grows at its right edge), and update the saved rows whose count differs;
    rows saved with the same count are left alone. `_lock_usage` must be held: nothing else can save
    a key between the look-up and the insertion. (rows created, rows written)"""
    ((created, updated),) = _execute_sql(
        """
        WITH compared AS (
            SELECT f.tenant_id, f.product_id, f.month, f.active_users,
                   u.id AS saved_id, u.active_users AS saved_users
            FROM cpor_usage_first f LEFT JOIN claims_monthlyusage u
              ON u.tenant_id = f.tenant_id AND u.product_id = f.product_id AND u.month = f.month
        ), inserted AS (
            INSERT INTO claims_monthlyusage (tenant_id, product_id, month, active_users)
            SELECT tenant_id, product_id, month, active_users FROM compared WHERE saved_id IS NULL
            ORDER BY tenant_id, product_id, month
            RETURNING 1
        ), updated AS (
            UPDATE claims_monthlyusage u SET active_users = c.active_users FROM compared c
            WHERE u.id = c.saved_id AND c.saved_users <> c.active_users
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM updated)
        """
    )
    return created, created + updated
