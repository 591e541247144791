"""CSV import and export of customers and followers (resources in followers.csv_resources).

``csv_import(scope=, by=, kind=, content=, dry_run=)``: a dry run reports, row by row, what
would be created or changed and every row it rejects with the reason; nothing is written.
Without ``dry_run`` the file is checked the same way first, and refused whole when any row
is rejected; then it is imported in one transaction, so an import that fails part way
changes nothing. Owners and admins import; export streams what the requester may see.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import tablib
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from accounts.errors import InvalidInput, RoleRequired
from accounts.models import Membership
from accounts.scope import Scope
from followers.csv_resources import CustomerResource, FollowerResource
from followers.models import Follower
from followers.selectors_identity import customer_list

logger = logging.getLogger(__name__)

KINDS = {"customers": CustomerResource, "followers": FollowerResource}
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
IMPORT_ROLES = frozenset({"owner", "admin"})


@dataclass
class RowReport:
    number: int  # the row's line in the file (the header is line 1)
    action: str  # new, update, skip, invalid, error
    object_id: int | None
    changes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    kind: str
    dry_run: bool
    rows: list[RowReport]
    imported: bool = False

    @property
    def rejected(self) -> list[RowReport]:
        return [r for r in self.rows if r.action in ("invalid", "error")]

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def totals(self) -> dict[str, int]:
        return {a: self.count(a) for a in ("new", "update", "skip", "invalid", "error")}


class ImportFailed(Exception):
    """Raised inside the import's transaction to roll every row back."""


def _dataset(content: bytes, resource: CustomerResource | FollowerResource) -> tablib.Dataset:
    if len(content) > MAX_BYTES:
        raise InvalidInput(_("The file is larger than 20 MB; split it."))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(_("The file is not UTF-8 text; save it as CSV UTF-8.")) from None
    if "\x00" in text:
        raise InvalidInput(_("The file contains a NUL character; it is not a CSV text."))
    try:
        dataset = tablib.Dataset().load(text, format="csv")
    except Exception as exc:  # tablib raises several kinds on malformed input
        raise InvalidInput(_("The file could not be read as CSV: %(error)s")
                           % {"error": exc}) from None
    headers = [h.strip() for h in (dataset.headers or [])]
    if not headers:
        raise InvalidInput(_("The file has no header row."))
    dataset.headers = headers
    unknown = sorted(set(headers) - resource.columns())
    if unknown:
        raise InvalidInput(_("Unknown columns: %(columns)s. The columns are: %(known)s.")
                           % {"columns": ", ".join(unknown),
                              "known": ", ".join(resource.get_export_headers())})
    if len(dataset) > MAX_ROWS:
        raise InvalidInput(_("At most %(n)s rows per file.") % {"n": MAX_ROWS})
    return dataset


def _messages(row: object) -> list[str]:
    errors: list[str] = []
    validation = getattr(row, "validation_error", None)
    if validation is not None:
        if hasattr(validation, "message_dict"):
            for name, messages in validation.message_dict.items():
                prefix = "" if name == "__all__" else f"{name}: "
                errors += [f"{prefix}{m}" for m in messages]
        else:
            errors += list(validation.messages)
    for error in getattr(row, "errors", []) or []:
        errors.append(str(error.error))
    return errors


def _report(kind: str, dry_run: bool, result: object,
            resource: CustomerResource | FollowerResource) -> ImportReport:
    rows = []
    for index, row in enumerate(result.rows, start=1):
        rows.append(RowReport(
            number=index + 1, action=row.import_type,
            object_id=row.object_id if row.import_type in ("new", "update") else None,
            changes=resource.changes.get(index, []), errors=_messages(row)))
    return ImportReport(kind=kind, dry_run=dry_run, rows=rows)


def _run(*, scope: Scope, by: Membership | None, kind: str, content: bytes,
         dry_run: bool) -> tuple[object, CustomerResource | FollowerResource]:
    resource = KINDS[kind](scope=scope, by=by)
    dataset = _dataset(content, resource)
    result = resource.import_data(dataset, dry_run=dry_run, raise_errors=False,
                                  use_transactions=True, rollback_on_validation_errors=True)
    return result, resource


def csv_import(*, scope: Scope, by: Membership | None, kind: str, content: bytes,
               dry_run: bool = True) -> ImportReport:
    if scope.role not in IMPORT_ROLES:
        raise RoleRequired(_("Owners and admins import customers and followers."))
    if kind not in KINDS:
        raise InvalidInput(_("Import customers or followers."))
    result, resource = _run(scope=scope, by=by, kind=kind, content=content, dry_run=True)
    report = _report(kind, True, result, resource)
    if dry_run or report.rejected:
        report.dry_run = dry_run
        return report
    try:
        with transaction.atomic():
            result, resource = _run(scope=scope, by=by, kind=kind, content=content,
                                    dry_run=False)
            report = _report(kind, False, result, resource)
            if report.rejected:
                raise ImportFailed()
    except ImportFailed:
        logger.warning("CSV import rolled back", extra={"kind": kind,
                                                        "rejected": len(report.rejected)})
        return report
    report.imported = True
    logger.info("CSV imported", extra={"kind": kind, **report.totals})
    return report


# -- export ------------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_queryset(*, scope: Scope, kind: str) -> QuerySet:
    if kind == "customers":
        followers = Follower.objects.select_related("account").order_by("subscribed_at", "pk")
        return customer_list(scope=scope).order_by("pk").prefetch_related(
            Prefetch("followers", queryset=followers))
    qs = Follower.objects.filter(brand_id=scope.brand_id)
    if scope.account_ids is not None:
        qs = qs.filter(account_id__in=scope.account_ids)
    return qs.select_related("account", "customer", "qrcode__campaign").prefetch_related(
        "tags").order_by("pk")


def csv_export_rows(*, scope: Scope, kind: str, chunk: int = 2000) -> Iterator[str]:
    """The CSV's lines, one at a time (for a streamed download): a header, then each row
    through the resource's own export (the same columns an import reads)."""
    resource = KINDS[kind](scope=scope)
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(resource.get_export_headers())
    for obj in export_queryset(scope=scope, kind=kind).iterator(chunk_size=chunk):
        yield writer.writerow(resource.export_resource(obj))


def csv_export_text(*, scope: Scope, kind: str) -> str:
    return "".join(csv_export_rows(scope=scope, kind=kind))

