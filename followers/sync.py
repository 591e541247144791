"""Follower sync: one account's followers as the platform lists them (protocol §7).

A job (``FollowerSync``) goes through its phases, saving its cursor after every step so a
worker that dies loses at most the step it was in:

1. list: ``user/get`` pages of 10,000 (``next_openid``); each page is upserted in bulk and
   its followers marked as listed by this job;
2. reconcile: the account's followers this job did not list have left (unsubscribed),
   unless they followed after the job started (a subscribe event between);
3. profiles: ``user/info/batchget`` 100 at a time, in follower id order (the cursor is the
   last id saved): every listed follower on a full sync, only new or stale ones (profile
   older than ``PROFILE_STALE_DAYS``) on an incremental one;
4. link: customers by unionid (``followers.linking``), set-based.

A job runs in slices of ``SLICE_SECONDS`` (each a Celery task that queues the next), well
under the broker's visibility timeout, under a lease (``lease`` + ``heartbeat_at``): a
second delivery of the task finds the job held and leaves it; a lease whose heartbeat is
older than ``STALE_SECONDS`` is free again (``sync_resume_task`` re-queues such jobs).

A daily quota hit (45009) pauses the job until the next Beijing midnight; other transient
failures (after the client's own retries) are retried with backoff, ``MAX_RETRIES`` in a
row; anything else fails the job with the platform's reason.

The statements run on PostgreSQL and on the demo's SQLite; the few fragments the two spell
differently come from ``followers.sql_portable``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, transaction
from django.db import connections as db_connections
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import Conflict, InvalidInput, RoleRequired
from accounts.models import OfficialAccount, Role
from accounts.scope import Scope, access
from followers import sql_portable as sql
from followers.events import announce_unsubscribed
from followers.linking import customers_link_by_unionid
from followers.models import Customer, Follower
from followers.models_sync import LAST_ERRORS_KEPT, FollowerListing, FollowerSync
from wechat.client.retry import Safety, is_transient
from wechat.errors import DailyLimitReached, InvalidOpenid, WeChatException

logger = logging.getLogger(__name__)

SLICE_SECONDS = 20.0
STALE_SECONDS = 120.0
PROFILE_STALE_DAYS = 30
PROFILE_BATCH = 100  # user/info/batchget takes at most 100 openids
# A profile step: this many followers, in calls of 100 made this many at a time.
PROFILE_STEP = 1000
PROFILE_THREADS = 4
MAX_RETRIES = 5
RETRY_BASE_SECONDS = 30
BEIJING = ZoneInfo("Asia/Shanghai")
# Roles that may start a sync: the brand-wide ones, and managers for their accounts.
STARTERS = (Role.OWNER, Role.ADMIN, Role.MANAGER)
# A page of the list is upserted in chunks of this size.
INSERT_CHUNK = 2000

FOLLOWERS = Follower._meta.db_table
LISTINGS = FollowerListing._meta.db_table
CUSTOMERS = Customer._meta.db_table
_SCENE_MAX = Follower._meta.get_field("subscribe_scene").max_length
_QR_MAX = Follower._meta.get_field("qr_scene").max_length


class LeaseLost(Exception):
    """Another worker holds the job now (ours went stale): stop without writing."""


# -- selectors and starting ------------------------------------------------------------------


def follower_sync_list(*, scope: Scope):  # noqa: ANN201 - a QuerySet of FollowerSync
    """The syncs of the accounts the requester serves."""
    return FollowerSync.objects.filter(
        brand_id=scope.brand_id, account__in=scope.accounts()
    ).select_related("account")


def follower_sync_start(*, scope: Scope, account_id: object, kind: str = FollowerSync.Kind.FULL,
                        enqueue: bool = True) -> FollowerSync:
    """Queue a sync of one account. 404 for an account not served, 403 for agents, 409
    while another sync of the account is queued, running or paused."""
    account = access(scope.accounts(), account_id)
    if scope.role not in STARTERS:
        raise RoleRequired(_("Only owners, admins and managers can sync followers."))
    if kind not in FollowerSync.Kind.values:
        raise InvalidInput(_("Choose a full or an incremental sync."),
                           fields={"kind": [_("Choose full or incremental.")]})
    try:
        with transaction.atomic():
            sync = FollowerSync.objects.create(
                brand_id=account.brand_id, account=account, kind=kind,
                started_by=scope.membership,
            )
    except IntegrityError as exc:
        raise Conflict(_("A sync of this account is already under way.")) from exc
    logger.info("follower sync queued", extra={"sync_id": sync.pk, "account_id": account.pk})
    if enqueue:
        from followers.tasks_sync import sync_run_task

        transaction.on_commit(lambda: sync_run_task.delay(sync.pk))
    return sync


def sync_progress(sync: FollowerSync) -> dict[str, Any]:
    """Numbers the progress bar shows: a percentage over the phases."""
    if sync.status == FollowerSync.Status.DONE:
        percent = 100
    elif sync.phase == FollowerSync.Phase.LIST:
        percent = 30 * sync.listed // max(sync.list_total or 0, 1) if sync.list_total else 0
    elif sync.phase == FollowerSync.Phase.RECONCILE:
        percent = 30
    elif sync.phase == FollowerSync.Phase.PROFILES:
        total = sync.profiles_total or 0
        percent = 30 + (65 * sync.profiles_done // total if total else 65)
    else:
        percent = 95
    return {"percent": min(int(percent), 100)}


# -- the job -----------------------------------------------------------------------------


@dataclass
class _Run:
    sync: FollowerSync
    lease: str
    client: Any
    account: OfficialAccount
    deadline: float = 0.0
    # The next profile step, fetched while this one is written: (after_id, batch, future).
    prefetched: tuple[int, list[tuple[int, str]], Future] | None = None
    pool: ThreadPoolExecutor | None = None

    def save(self, **changes: Any) -> None:
        """Write progress under our lease (with the heartbeat), or stop: LeaseLost."""
        now = timezone.now()
        changes.setdefault("heartbeat_at", now)
        changes["updated_at"] = now
        updated = FollowerSync.objects.filter(pk=self.sync.pk, lease=self.lease).update(**changes)
        if not updated:
            raise LeaseLost()
        for name, value in changes.items():
            if not hasattr(value, "resolve_expression"):
                setattr(self.sync, name, value)


def _claim(sync_id: int) -> str | None:
    """Take the job's lease: free, or stale. None when the job is not runnable or held."""
    lease = uuid.uuid4().hex
    now = timezone.now()
    stale = now - timedelta(seconds=STALE_SECONDS)
    claimed = FollowerSync.objects.filter(
        Q(lease="") | Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True),
        pk=sync_id, status__in=[FollowerSync.Status.QUEUED, FollowerSync.Status.RUNNING],
    ).update(lease=lease, heartbeat_at=now, status=FollowerSync.Status.RUNNING,
             started_at=Coalesce(F("started_at"), now), updated_at=now)
    return lease if claimed else None


def sync_run(*, sync_id: int, slice_seconds: float = SLICE_SECONDS,
             client: Any = None) -> str:
    """Run the job for one slice. Answers "done", "continue" (queue the next slice),
    "retry" (a transient failure: queue it later), "paused", "failed" or "held" (another
    worker has it, or nothing to do)."""
    lease = _claim(sync_id)
    if lease is None:
        return "held"
    sync = FollowerSync.objects.select_related("account").get(pk=sync_id)
    if client is None:
        from accounts.wechat_clients import client_for

        client = client_for(sync.account)
    deadline = time.monotonic() + slice_seconds
    run = _Run(sync=sync, lease=lease, client=client, account=sync.account, deadline=deadline,
               pool=ThreadPoolExecutor(max_workers=1))
    try:
        while True:
            if not _step(run):
                run.save(status=FollowerSync.Status.DONE, phase=FollowerSync.Phase.FINISHED,
                         finished_at=timezone.now(), lease="", reason="")
                logger.info("follower sync done", extra=_summary(run.sync))
                if run.sync.kind == FollowerSync.Kind.FULL:
                    # The platform's tags and who carries them come back after a full
                    # sync, by the tags part's own task, not inside this job.
                    from followers.tasks_sync import tags_pull_after_sync

                    tags_pull_after_sync(account_id=run.account.pk)
                return "done"
            if time.monotonic() >= deadline:
                run.save(lease="")
                return "continue"
    except LeaseLost:
        logger.warning("follower sync lease lost; another worker goes on",
                       extra={"sync_id": sync_id})
        return "held"
    except DailyLimitReached as exc:
        return _pause(run, exc)
    except WeChatException as exc:
        return _failure(run, exc)
    finally:
        if run.pool is not None:
            run.pool.shutdown(wait=True, cancel_futures=True)


def _summary(sync: FollowerSync) -> dict[str, Any]:
    return {"sync_id": sync.pk, "account_id": sync.account_id, "listed": sync.listed,
            "new_followers": sync.created_followers, "unsubscribed": sync.unsubscribed_followers,
            "profiles": sync.profiles_done, "linked": sync.linked, "errors": sync.errors_count}


def next_beijing_midnight(now: datetime | None = None) -> datetime:
    local = (now or timezone.now()).astimezone(BEIJING)
    return (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def _api_of(exc: WeChatException) -> str:
    path = getattr(exc, "path", None) or ""
    return path.removeprefix("/cgi-bin/") or "the platform"


def _error_entry(exc: WeChatException, message: str) -> dict[str, Any]:
    return {"at": timezone.now().isoformat(), "errcode": getattr(exc, "errcode", None),
            "api": _api_of(exc), "message": message}


def _errors_with(sync: FollowerSync, entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [*list(sync.last_errors or []), entry][-LAST_ERRORS_KEPT:]


def _pause(run: _Run, exc: DailyLimitReached) -> str:
    reason = _(
        "daily quota of %(api)s reached (%(errcode)s); resumes after 00:00 Beijing time"
    ) % {"api": _api_of(exc), "errcode": exc.errcode}
    run.save(status=FollowerSync.Status.PAUSED, reason=reason, lease="",
             resume_after=next_beijing_midnight(),
             errors_count=F("errors_count") + 1,
             last_errors=_errors_with(run.sync, _error_entry(exc, reason)))
    logger.warning("follower sync paused: %s", reason, extra=_summary(run.sync))
    return "paused"


def _failure(run: _Run, exc: WeChatException) -> str:
    message = str(exc)
    entry = _error_entry(exc, message)
    if is_transient(exc, Safety.IDEMPOTENT) and run.sync.retries < MAX_RETRIES:
        run.save(lease="", retries=F("retries") + 1, errors_count=F("errors_count") + 1,
                 last_errors=_errors_with(run.sync, entry))
        logger.warning("follower sync will retry: %s", message, extra=_summary(run.sync))
        return "retry"
    reason = _("%(api)s failed: %(reason)s") % {"api": _api_of(exc), "reason": message}
    run.save(status=FollowerSync.Status.FAILED, reason=reason, lease="",
             finished_at=timezone.now(), errors_count=F("errors_count") + 1,
             last_errors=_errors_with(run.sync, entry))
    logger.error("follower sync failed: %s", reason, extra=_summary(run.sync))
    return "failed"


def _step(run: _Run) -> bool:
    """One saved step of the job; False once there is nothing left to do."""
    phase = run.sync.phase
    if phase == FollowerSync.Phase.LIST:
        _list_page(run)
    elif phase == FollowerSync.Phase.RECONCILE:
        _reconcile(run)
    elif phase == FollowerSync.Phase.PROFILES:
        _profile_batch(run)
    elif phase == FollowerSync.Phase.LINK:
        _link(run)
    else:
        return False
    return True


# -- 1. the list -------------------------------------------------------------------------


def _list_page(run: _Run) -> None:
    sync, account = run.sync, run.account
    fetched_at = timezone.now()
    page = run.client.user_list(sync.next_openid)
    openids = [str(o) for o in (page.get("data") or {}).get("openid") or []]
    cursor = str(page.get("next_openid") or "")
    created = _upsert_page(account, openids, sync.pk, fetched_at) if openids else 0
    # The last page still names its last openid; the empty page after it (or an empty
    # next_openid) ends the list.
    finished = not openids or not cursor
    with transaction.atomic():
        run.save(next_openid=cursor if not finished else sync.next_openid,
                 list_total=int(page.get("total") or 0),
                 listed=F("listed") + len(openids),
                 created_followers=F("created_followers") + created,
                 retries=0,
                 phase=FollowerSync.Phase.RECONCILE if finished else FollowerSync.Phase.LIST)
    run.sync.refresh_from_db(fields=["listed", "created_followers"])


@transaction.atomic
def _upsert_page(account: OfficialAccount, openids: list[str], sync_id: int,
                 fetched_at: datetime) -> int:
    """The page's followers exist, follow, and are marked listed by this job; answers how
    many were new. A few statements a page, never one a follower."""
    page = json.dumps(list(dict.fromkeys(openids)))
    source, openid = sql.json_texts()  # the page's openids as rows
    with connection.cursor() as cursor:
        # Repeatable writes (see _apply_profiles): no need to wait for the disk.
        sql.commit_without_flush(cursor)
        # New followers in one INSERT ... SELECT over the page (ON CONFLICT: a subscribe
        # event may have made one a moment ago); their customers come with the profiles.
        cursor.execute(
            f"""INSERT INTO {FOLLOWERS} (brand_id, account_id, openid, unionid, subscribed,
                    subscribe_scene, qr_scene, language, region, remark, gender,
                    window_sends, short_window_sends, created_at)
                SELECT %s, %s, {openid}, '', true, '', '', '', '', '', 0, 0, 0, {sql.now()}
                FROM {source} {sql.upsert_from_select()}
                ON CONFLICT (account_id, openid) DO NOTHING""",  # noqa: S608
            [account.brand_id, account.pk, page],
        )
        fresh = cursor.rowcount
    # The page's openids drive both statements: one (account, openid) index lookup each,
    # whatever the planner believes about the account. (Written as "account_id = X AND
    # openid IN (the page)", an account whose rows the statistics have not seen yet was
    # planned as a scan of its rows against the whole page: 15 s a page of 10,000.)
    with connection.cursor() as cursor:
        # Listed means following, unless an unsubscribe event came in after the page did.
        cursor.execute(
            f"""UPDATE {FOLLOWERS} SET subscribed = true
                WHERE id IN (SELECT f.id FROM {source}
                             JOIN {FOLLOWERS} f ON f.account_id = %s AND f.openid = {openid}
                             WHERE NOT f.subscribed
                               AND (f.unsubscribed_at IS NULL OR f.unsubscribed_at < %s))""",  # noqa: S608
            [page, account.pk, sql.moment(fetched_at)],
        )
        cursor.execute(
            f"""INSERT INTO {LISTINGS} (follower_id, account_id, sync_id, tagid_list)
                SELECT f.id, f.account_id, %s, {sql.json_literal("[]")} FROM {source}
                JOIN {FOLLOWERS} f ON f.account_id = %s AND f.openid = {openid}
                {sql.upsert_from_select()}
                ON CONFLICT (follower_id) DO UPDATE SET sync_id = EXCLUDED.sync_id""",  # noqa: S608
            [sync_id, page, account.pk],
        )
    return fresh


# -- 2. who left -------------------------------------------------------------------------


def cursor_analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {FOLLOWERS}")
        cursor.execute(f"ANALYZE {LISTINGS}")


def _reconcile(run: _Run) -> None:
    """Followers of the account this job did not list have unfollowed; not those who
    followed (a subscribe event) after the job started."""
    sync = run.sync
    started = sync.started_at or sync.created_at
    now = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {sql.updated_table(FOLLOWERS, "f")}
                    SET subscribed = false, unsubscribed_at = %s
                    WHERE f.account_id = %s AND f.subscribed AND f.created_at < %s
                      AND (f.subscribed_at IS NULL OR f.subscribed_at < %s)
                      AND NOT EXISTS (SELECT 1 FROM {LISTINGS} l
                                      WHERE l.follower_id = f.id AND l.sync_id = %s)
                    RETURNING {sql.returned("f", "id")}""",  # noqa: S608
                [sql.moment(now), run.account.pk, sql.moment(started), sql.moment(started),
                 sync.pk],
            )
            gone = [row[0] for row in cursor.fetchall()]
        for follower in Follower.objects.filter(pk__in=gone).only(
                "id", "brand_id", "account_id", "customer_id"):
            announce_unsubscribed(follower, at=now)
        if sync.created_followers:
            # New rows: fresh statistics, or the profile steps' plans go wrong (a nested
            # loop over the whole account for each batch).
            cursor_analyze()
        total = _profiles_query(run).count()
        run.save(phase=FollowerSync.Phase.PROFILES, profile_after_id=0, profiles_done=0,
                 profiles_total=total,
                 unsubscribed_followers=F("unsubscribed_followers") + len(gone))
    run.sync.refresh_from_db(fields=["unsubscribed_followers"])
    if gone:
        logger.info("followers found gone by the sync", extra={
            "sync_id": sync.pk, "count": len(gone)})


# -- 3. profiles -------------------------------------------------------------------------


def _profiles_query(run: _Run):  # noqa: ANN202
    query = Follower.objects.filter(account=run.account, subscribed=True,
                                    listing__sync_id=run.sync.pk)
    if run.sync.kind == FollowerSync.Kind.INCREMENTAL:
        stale = timezone.now() - timedelta(days=PROFILE_STALE_DAYS)
        query = query.filter(Q(profile_fetched_at__isnull=True) | Q(profile_fetched_at__lt=stale))
    return query


def _next_batch(run: _Run, after_id: int) -> list[tuple[int, str]]:
    return list(_profiles_query(run).filter(pk__gt=after_id)
                .order_by("pk").values_list("pk", "openid")[:PROFILE_STEP])


def _chunks(batch: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    return [batch[i:i + PROFILE_BATCH] for i in range(0, len(batch), PROFILE_BATCH)]


def _prefetch(client: Any, chunks: list[list[tuple[int, str]]]) -> list[Any]:
    try:
        return _fetch_profiles(client, chunks)
    finally:
        db_connections.close_all()  # a token renewal wrote from this thread


def _profile_batch(run: _Run) -> None:
    """One saved profile step: up to PROFILE_STEP followers, fetched in calls of 100
    (PROFILE_THREADS at a time), written in a few statements, then the cursor. The next
    step's calls are made while this one is written."""
    sync = run.sync
    if run.prefetched is not None and run.prefetched[0] == sync.profile_after_id:
        _after, batch, future = run.prefetched
        run.prefetched = None
        chunks = _chunks(batch)
        results = future.result()
    else:
        batch = _next_batch(run, sync.profile_after_id)
        if not batch:
            run.save(phase=FollowerSync.Phase.LINK)
            return
        chunks = _chunks(batch)
        results = _fetch_profiles(run.client, chunks)
    if (run.pool is not None and time.monotonic() < run.deadline - 1
            and not any(isinstance(r, WeChatException) for r in results)):
        following = _next_batch(run, batch[-1][0])
        if following:
            run.prefetched = (batch[-1][0], following,
                              run.pool.submit(_prefetch, run.client, _chunks(following)))
    infos: list[dict] = []
    done: list[tuple[int, str]] = []
    failure: WeChatException | None = None
    skipped: list[dict[str, Any]] = []
    for chunk, result in zip(chunks, results):  # noqa: B905 - shorter after a failure
        if isinstance(result, InvalidOpenid):
            # One openid the platform no longer knows refuses the whole call: the batch
            # is skipped and said so, the job goes on.
            message = _("%(count)s profiles skipped: %(reason)s") % {
                "count": len(chunk), "reason": str(result)}
            skipped.append(_error_entry(result, message))
        elif isinstance(result, WeChatException):
            failure = result  # saved up to here; the rest is fetched again later
            break
        else:
            infos.extend(result)
        done.extend(chunk)
    if done:
        extra: dict[str, Any] = {}
        if skipped:
            extra = {"errors_count": F("errors_count") + len(skipped),
                     "last_errors": [*list(sync.last_errors or []), *skipped][-LAST_ERRORS_KEPT:]}
        with transaction.atomic():
            _apply_profiles(run.account, infos, timezone.now())
            run.save(profile_after_id=done[-1][0], profiles_done=F("profiles_done") + len(done),
                     retries=0, **extra)
        run.sync.refresh_from_db(fields=["profiles_done", "errors_count", "last_errors"])
    if failure is not None:
        raise failure


def _fetch_profiles(client: Any, chunks: list[list[tuple[int, str]]]) -> list[Any]:
    """Each chunk's user/info list, or the error its call ended in, in order."""
    def fetch(chunk: list[tuple[int, str]]) -> Any:
        try:
            return client.user_info_batch([openid for _pk, openid in chunk])
        except WeChatException as exc:
            return exc

    def fetch_in_thread(chunk: list[tuple[int, str]]) -> Any:
        try:
            return fetch(chunk)
        finally:
            # A token renewal records itself in the database: this thread's connection.
            db_connections.close_all()

    # The first call in this thread: it renews the token if need be, once.
    first = fetch(chunks[0])
    if len(chunks) == 1 or (isinstance(first, WeChatException)
                            and not isinstance(first, InvalidOpenid)):
        return [first]
    with ThreadPoolExecutor(max_workers=PROFILE_THREADS) as pool:
        return [first, *pool.map(fetch_in_thread, chunks[1:])]


def _text(value: object, size: int) -> str:
    return str(value or "")[:size]


# The batch's profiles as one JSON parameter (json.dumps is C, adapting ten arrays of
# 1,000 values is not), read back as rows.
_PROFILE_COLUMNS = [("openid", "text"), ("language", "text"), ("unionid", "text"),
                    ("remark", "text"), ("region", "text"), ("gender", "int"),
                    ("scene", "text"), ("qr", "text"), ("subscribed_at", "timestamptz"),
                    ("tags", "jsonb")]


def _apply_profiles(account: OfficialAccount, infos: list[dict], now: datetime) -> None:
    """What user/info said, in three statements for the whole batch."""
    rows: list[dict[str, Any]] = []
    gone: list[str] = []
    for info in infos:
        openid = str(info.get("openid") or "")
        if not openid:
            continue
        if not info.get("subscribe"):
            gone.append(openid)
            continue
        region = " ".join(str(info.get(k) or "") for k in ("country", "province", "city"))
        qr = info.get("qr_scene_str") or info.get("qr_scene") or ""
        sex = str(info.get("sex", ""))
        stamp = info.get("subscribe_time")
        rows.append({
            "openid": openid,
            "language": _text(info.get("language"), 16),
            "unionid": _text(info.get("unionid"), 64),
            "remark": _text(info.get("remark"), 30),
            "region": region.strip()[:64],
            "gender": int(sex) if sex in ("0", "1", "2") else 0,
            "scene": _text(info.get("subscribe_scene"), _SCENE_MAX),
            "qr": "" if qr in (0, "0") else _text(qr, _QR_MAX),
            "subscribed_at": datetime.fromtimestamp(int(stamp), tz=UTC).isoformat()
            if stamp else None,
            "tags": _tag_ids(info.get("tagid_list")),
        })
    profile_rows = sql.json_records(_PROFILE_COLUMNS)
    stamp = sql.moment(now)
    with connection.cursor() as cursor:
        # A job's writes are repeatable (the cursor is saved with them): a commit need not
        # wait for the disk; a database crash loses at most the last steps, done again.
        sql.commit_without_flush(cursor)
        if rows:
            data = json.dumps(rows)
            # The customers of followers that have none yet (new from the list) come here,
            # in the same write: the one of their unionid, made now when there is none.
            cursor.execute(
                f"""INSERT INTO {CUSTOMERS} (brand_id, unionid, name, phone, email, notes,
                        attributes, language, created_at, updated_at)
                    SELECT DISTINCT %s, v.unionid, '', '', '', '', {sql.json_literal("{}")}, '',
                           {sql.now()}, {sql.now()}
                    FROM {profile_rows}
                    JOIN {FOLLOWERS} f ON f.account_id = %s AND f.openid = v.openid
                    WHERE v.unionid <> '' AND f.customer_id IS NULL
                    ON CONFLICT DO NOTHING""",  # noqa: S608
                [account.brand_id, data, account.pk],
            )
            cursor.execute(
                f"""UPDATE {sql.updated_table(FOLLOWERS, "f")} SET
                        customer_id = CASE WHEN f.customer_id IS NULL AND v.unionid <> ''
                            THEN (SELECT c.id FROM {CUSTOMERS} c
                                  WHERE c.brand_id = f.brand_id AND c.unionid = v.unionid
                                    AND c.unionid <> '')
                            ELSE f.customer_id END,
                        language = CASE WHEN v.language <> '' THEN v.language ELSE f.language END,
                        unionid = CASE WHEN v.unionid <> '' THEN v.unionid ELSE f.unionid END,
                        remark = v.remark,
                        region = CASE WHEN v.region <> '' THEN v.region ELSE f.region END,
                        gender = v.gender,
                        subscribe_scene = CASE WHEN v.scene <> '' THEN v.scene
                                               ELSE f.subscribe_scene END,
                        qr_scene = CASE WHEN f.qr_scene = '' THEN v.qr ELSE f.qr_scene END,
                        subscribed_at = COALESCE(v.subscribed_at, f.subscribed_at),
                        profile_fetched_at = %s
                    FROM {profile_rows}
                    WHERE f.account_id = %s AND f.openid = v.openid""",  # noqa: S608
                [stamp, data, account.pk],
            )
            cursor.execute(
                f"""UPDATE {sql.updated_table(LISTINGS, "l")}
                    SET tagid_list = v.tags, tags_fetched_at = %s
                    FROM {profile_rows}
                    JOIN {FOLLOWERS} f ON f.account_id = %s AND f.openid = v.openid
                    WHERE l.follower_id = f.id
                      AND l.tagid_list IS DISTINCT FROM v.tags""",  # noqa: S608
                [stamp, data, account.pk],
            )
        if gone:
            # Unfollowed between the list and the profile.
            cursor.execute(
                f"""UPDATE {FOLLOWERS} SET subscribed = false, unsubscribed_at = %s
                    WHERE account_id = %s AND {sql.in_list("openid")} AND subscribed""",  # noqa: S608
                [stamp, account.pk, sql.list_param(gone)],
            )


def _tag_ids(value: object) -> list[int]:
    if not isinstance(value, list):
        return []
    return [int(t) for t in value if str(t).lstrip("-").isdigit()]


# -- 4. customers ------------------------------------------------------------------------


def _link(run: _Run) -> None:
    with transaction.atomic():
        linked = customers_link_by_unionid(brand_id=run.account.brand_id,
                                           account_id=run.account.pk)
        run.save(linked=F("linked") + linked, phase=FollowerSync.Phase.FINISHED)
    run.sync.refresh_from_db(fields=["linked"])


# -- resuming ----------------------------------------------------------------------------


def sync_resumable_ids(*, now: datetime | None = None) -> list[int]:
    """Jobs to queue again: paused ones whose resume_after passed (they become queued),
    and running or queued ones nobody holds (a stale heartbeat: the worker died)."""
    now = now or timezone.now()
    paused = list(FollowerSync.objects.filter(
        status=FollowerSync.Status.PAUSED, resume_after__lte=now).values_list("pk", flat=True))
    if paused:
        FollowerSync.objects.filter(pk__in=paused, status=FollowerSync.Status.PAUSED).update(
            status=FollowerSync.Status.QUEUED, lease="", resume_after=None, reason="",
            updated_at=now)
    stale = now - timedelta(seconds=STALE_SECONDS)
    orphans = list(FollowerSync.objects.filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, created_at__lt=stale),
        status__in=[FollowerSync.Status.QUEUED, FollowerSync.Status.RUNNING],
    ).values_list("pk", flat=True))
    return sorted({*paused, *orphans})

