"""Brand tags on followers and customers, and their WeChat twins (§8).

A brand tag (`Tag`) is what people and rules put on followers (`Follower.tags`). On each
account the tag exists on WeChat under the id the platform gave it (`AccountTag`), created
on demand: the first time a follower of that account gets the tag. Every portal change is
recorded (`TagSync`, pending) and pushed by `tags_push_account` (the task
`tags_push_task`): batches of at most 50 openids per batchtagging call. A change WeChat
refuses (100 tags on the account, 20 on the follower, ...) stays in the portal; its row
turns failed with the reason. `tags_pull_account` reads the platform's tags and members
back, mapping tags to brand tags by name and creating brand tags as needed.

Renaming (`tag_rename`) and deleting (`tag_delete`) a brand tag reach WeChat at once, on
every account that has it (tags/update, tags/delete): all or nothing for a rename, as far
as WeChat lets for a delete. A rename kept in the portal only would come back from the
next pull as a brand tag of the old name; a delete would leave the tag on the accounts,
counting against their 100.

Every change of followers' tags writes the customer's timeline (tag_added / tag_removed)
and announces `tag.added` / `tag.removed`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import events
from accounts.errors import Conflict, InvalidInput
from accounts.models import Membership, OfficialAccount
from followers import tag_limits as limits
from followers.models import (
    AccountTag,
    CustomerActivity,
    Follower,
    Segment,
    Tag,
    TagRule,
    TagSync,
)
from wechat.client.retry import Safety, is_transient
from wechat.errors import TransportError, WeChatError, WeChatException

logger = logging.getLogger(__name__)

PORTAL, RULE, WECHAT = "portal", "rule", "wechat"
NOT_FOLLOWING = _("The follower no longer follows the account: the tag stays in the portal.")
NAME_TAKEN = _("The brand has a tag of that name already.")
NO_ANSWER = _("WeChat did not answer: try again in a minute.")
TAG_GONE = _("The tag was deleted meanwhile.")
RENAME_REFUSED = _("The tag keeps its name “%(old)s”: WeChat did not take “%(name)s” on "
                   "every account. %(refusals)s")
NOT_PUT_BACK = _("The old name could not be put back on WeChat on %(accounts)s: rename "
                 "the tag again once WeChat answers.")
RULES_ADD_IT = _("“%(name)s” stays: rules add it (%(rules)s). Change them first.")
DELETE_REFUSED = _("“%(name)s” stays: WeChat did not delete it on these accounts. "
                   "%(refusals)s")
DELETED_THERE = _("It is gone from WeChat on %(accounts)s.")
UNTAG_CHUNK = 5000


# -- brand tags -------------------------------------------------------------------------


def tag_get_or_create(*, brand_id: int, name: str) -> tuple[Tag, bool]:
    """The brand's tag named ``name`` (trimmed), made when missing; refuses a bad name."""
    name = name.strip()
    error = limits.name_error(name)
    if error:
        raise InvalidInput(error, fields={"name": [error]})
    found = Tag.objects.filter(brand_id=brand_id, name=name).first()
    if found is not None:
        return found, False
    try:
        with transaction.atomic():
            return Tag.objects.create(brand_id=brand_id, name=name), True
    except IntegrityError:
        return Tag.objects.get(brand_id=brand_id, name=name), False


def _check_rename(tag: Tag, name: str) -> str:
    name = name.strip()
    error = limits.name_error(name)
    if error:
        raise InvalidInput(error, fields={"name": [error]})
    if Tag.objects.filter(brand_id=tag.brand_id, name=name).exclude(pk=tag.pk).exists():
        raise InvalidInput(str(NAME_TAKEN), fields={"name": [str(NAME_TAKEN)]})
    return name


def _locked(tag: Tag) -> Tag | None:
    """The tag's row, locked until the transaction ends. FOR NO KEY UPDATE: tagging
    followers meanwhile (which only references the row) goes on; another rename, delete or
    a push creating the tag on an account waits, then sees the name that won."""
    return Tag.objects.select_for_update(no_key=True).filter(pk=tag.pk).first()


def _mappings(tag: Tag) -> list[AccountTag]:
    return list(AccountTag.objects.filter(tag=tag).select_related("account")
                .order_by("account__name", "account_id"))


def _refusal(exc: WeChatException) -> str:
    if isinstance(exc, WeChatError):
        return limits.reason_for(exc.errcode, exc.reason)
    return str(NO_ANSWER)


def _listed(refusals: list[tuple[OfficialAccount, str]]) -> str:
    return "; ".join(f"{account.name}: {reason}" for account, reason in refusals)


def tag_rename(*, tag: Tag, name: str) -> Tag:
    """Rename the brand tag and its WeChat tag on every account that has one (tags/update),
    all or nothing: when an account refuses (the name taken or too long there, a system
    tag, WeChat not answering after the client's retries) the accounts renamed get the old
    name back and Conflict names each account that refused, with the reason; the brand tag
    keeps its name. A mapping WeChat no longer knows (45159) is dropped: the tag is made
    again, under the new name, the next time a follower there gets it.

    The caller holds nothing; the tag row is locked here while WeChat is called."""
    name = _check_rename(tag, name)
    if name == tag.name:
        return tag
    refused: list[tuple[OfficialAccount, str]] = []
    with transaction.atomic():
        locked = _locked(tag)
        if locked is None:
            raise Conflict(str(TAG_GONE))
        old = locked.name
        renamed: list[AccountTag] = []
        for mapped in _mappings(locked):
            try:
                _client(mapped.account).tag_update(mapped.wechat_id, name)
            except WeChatException as exc:
                if isinstance(exc, WeChatError) and exc.errcode == 45159:
                    _forget(mapped, "tag gone on the account")
                    continue
                if isinstance(exc, TransportError) and exc.maybe_sent:
                    renamed.append(mapped)  # it may have gone through: put it back too
                refused.append((mapped.account, _refusal(exc)))
                logger.warning("tag rename refused on the account", extra={
                    "tag_id": locked.pk, "account_id": mapped.account_id, "tag": name,
                    "errcode": getattr(exc, "errcode", None), "error": str(exc)})
                continue
            renamed.append(mapped)
        taken = False
        if not refused:
            locked.name = name
            try:
                with transaction.atomic():
                    locked.save(update_fields=["name"])
            except IntegrityError:  # another tag took the name in the portal meanwhile
                taken = True
        not_back = _rename_back(renamed, old) if refused or taken else []
    if taken:
        raise InvalidInput(str(NAME_TAKEN), fields={"name": [str(NAME_TAKEN)]})
    if refused:
        message = RENAME_REFUSED % {"name": name, "old": old, "refusals": _listed(refused)}
        if not_back:
            message += " " + NOT_PUT_BACK % {"accounts": ", ".join(a.name for a in not_back)}
        raise Conflict(message)
    logger.info("tag renamed", extra={"tag_id": tag.pk, "old": old, "tag": name,
                                      "accounts": len(renamed)})
    events.announce("tag.renamed", {"brand_id": tag.brand_id, "tag_id": tag.pk,
                                    "old_name": old, "name": name})
    tag.name = name
    return tag


def _rename_back(renamed: list[AccountTag], old: str) -> list[OfficialAccount]:
    """Give the old name back on WeChat (best effort); answers the accounts where that
    failed too, each logged."""
    failed = []
    for mapped in renamed:
        try:
            _client(mapped.account).tag_update(mapped.wechat_id, old)
        except WeChatException as exc:
            failed.append(mapped.account)
            logger.error("tag rename not reverted on the account", extra={
                "tag_id": mapped.tag_id, "account_id": mapped.account_id, "tag": old,
                "error": str(exc)})
    return failed


def _forget(mapped: AccountTag, why: str) -> None:
    mapped.delete()
    logger.info(why, extra={"tag_id": mapped.tag_id, "account_id": mapped.account_id,
                            "wechat_id": mapped.wechat_id})


def tag_delete_blockers(*, tag: Tag) -> list[TagRule]:
    """The rules that add ``tag``: while one does, the tag cannot be deleted."""
    return list(TagRule.objects.filter(brand_id=tag.brand_id, add_tags=tag)
                .order_by("position", "pk"))


def tag_delete(*, tag: Tag, by: Membership | None = None) -> None:
    """Delete the brand tag, first on WeChat (tags/delete) on every account that has it.

    A rule that adds the tag blocks the delete (Conflict naming the rules): deleting the
    tag would quietly change what the rule does, so the rule is changed first, by a
    person. Rules that only remove the tag simply lose it.

    An account where WeChat deleted the tag (or no longer had it: 45159) loses it in the
    portal too: its mapping, its followers' tag (timeline and ``tag.removed``, as a
    removal; nothing is sent to WeChat, the platform untagged them) and its pending
    changes. When an account refuses (45057: more than 100,000 followers there; WeChat not
    answering), the brand tag stays with the accounts that kept it, and Conflict names
    them with the reason; asking again finishes the job. Otherwise the brand tag goes:
    its remaining rows (changes pending on accounts it was never made on, rules' removals)
    go with it. Segments naming it drop the condition when read (followers.segments).

    The caller holds nothing; the tag row is locked here while WeChat is called."""
    rules = tag_delete_blockers(tag=tag)
    if rules:
        raise Conflict(RULES_ADD_IT % {
            "name": tag.name, "rules": ", ".join(f"“{r.name}”" for r in rules)})
    refused: list[tuple[OfficialAccount, str]] = []
    deleted: list[OfficialAccount] = []
    with transaction.atomic():
        locked = _locked(tag)
        if locked is None:
            return  # deleted meanwhile
        for mapped in _mappings(locked):
            try:
                _client(mapped.account).tag_delete(mapped.wechat_id)
            except WeChatException as exc:
                if not (isinstance(exc, WeChatError) and exc.errcode == 45159):
                    refused.append((mapped.account, _refusal(exc)))
                    logger.warning("tag delete refused on the account", extra={
                        "tag_id": locked.pk, "account_id": mapped.account_id,
                        "errcode": getattr(exc, "errcode", None), "error": str(exc)})
                    continue
            _forget(mapped, "tag deleted on the account")
            deleted.append(mapped.account)
        kept = [account.pk for account, _reason in refused]
        leaving = Follower.objects.filter(tags=locked).exclude(account_id__in=kept)
        _untag_all(locked, leaving, by=by)
        TagSync.objects.filter(tag=locked).exclude(account_id__in=kept).delete()
        if not refused:
            locked.delete()
    if refused:
        message = DELETE_REFUSED % {"name": tag.name, "refusals": _listed(refused)}
        if deleted:
            message += " " + DELETED_THERE % {"accounts": ", ".join(a.name for a in deleted)}
        raise Conflict(message)
    logger.info("tag deleted", extra={"tag_id": tag.pk, "tag": tag.name})


def _untag_all(tag: Tag, followers: QuerySet[Follower], *, by: Membership | None) -> None:
    """Take the tag off every one of ``followers`` in the portal only, a few thousand at a
    time (each a timeline batch and one ``tag.removed``)."""
    ids = list(followers.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), UNTAG_CHUNK):
        tag_remove(tag=tag, followers=ids[start:start + UNTAG_CHUNK], by=by, push=False)


def tag_wechat_accounts(*, tag: Tag) -> list[OfficialAccount]:
    """The accounts that have the tag on WeChat, by name."""
    return [m.account for m in _mappings(tag)]


def tag_delete_preview(*, tag: Tag) -> dict:
    """What deleting ``tag`` would do: the followers who lose it, the accounts whose WeChat
    tag goes, the rules that block it and the segments whose condition on it changes."""
    segments = [s for s in Segment.objects.filter(brand_id=tag.brand_id).order_by("name")
                if any(tag.pk in (ids or []) for ids in
                       (s.definition.get("tags") or {}).values())]
    return {
        "followers": Follower.objects.filter(tags=tag).count(),
        "accounts": tag_wechat_accounts(tag=tag),
        "rules": tag_delete_blockers(tag=tag),
        "segments": segments,
    }


# -- followers' tags --------------------------------------------------------------------


def _followers(brand_id: int, followers: Iterable[Follower | int]) -> list[Follower]:
    ids = {getattr(f, "pk", f) for f in followers}
    return list(Follower.objects.filter(brand_id=brand_id, pk__in=ids)
                .only("pk", "brand_id", "account_id", "customer_id", "openid"))


def _timeline(kind: str, tag: Tag, followers: list[Follower], *, at: datetime, source: str,
              rule_id: int | None, by: Membership | None) -> None:
    CustomerActivity.objects.bulk_create([
        CustomerActivity(brand_id=tag.brand_id, customer_id=f.customer_id, follower_id=f.pk,
                         account_id=f.account_id, kind=kind, at=at, by=by,
                         data={"tag": tag.name, "tag_id": tag.pk, "source": source,
                               **({"rule": rule_id} if rule_id else {})})
        for f in followers if f.customer_id
    ])


def _announce(name: str, tag: Tag, followers: list[Follower], *, source: str,
              rule_id: int | None, by: Membership | None) -> None:
    events.announce(name, {
        "brand_id": tag.brand_id, "tag_id": tag.pk, "tag": tag.name,
        "follower_ids": sorted(f.pk for f in followers), "source": source,
        "rule_id": rule_id, "by_membership_id": by.pk if by else None,
    })


def _queue_push(account_ids: Iterable[int]) -> None:
    from followers.tasks_tags import tags_push_enqueue

    ids = sorted(set(account_ids))
    if ids:
        transaction.on_commit(lambda: tags_push_enqueue(ids))


def tag_add(*, tag: Tag, followers: Iterable[Follower | int], by: Membership | None = None,
            source: str = PORTAL, rule_id: int | None = None, push: bool = True,
            at: datetime | None = None) -> list[int]:
    """Put ``tag`` on each of ``followers`` (of the tag's brand) that lacks it; answers the
    ids tagged now. With ``push`` each change is queued for WeChat; a follower already at
    the platform's 20 tags keeps the portal tag, flagged failed with the reason."""
    at = at or timezone.now()
    with transaction.atomic():
        rows = _followers(tag.brand_id, followers)
        have = set(Follower.tags.through.objects.filter(
            tag_id=tag.pk, follower_id__in=[f.pk for f in rows]).values_list("follower_id",
                                                                             flat=True))
        new = [f for f in rows if f.pk not in have]
        if not new:
            return []
        Follower.tags.through.objects.bulk_create(
            [Follower.tags.through(follower_id=f.pk, tag_id=tag.pk) for f in new],
            ignore_conflicts=True)
        if push:
            _record_sync(tag, new, op=TagSync.Op.ADD)
        else:
            TagSync.objects.filter(tag=tag, follower__in=new).delete()
        _timeline(CustomerActivity.Kind.TAG_ADDED, tag, new, at=at, source=source,
                  rule_id=rule_id, by=by)
        _announce("tag.added", tag, new, source=source, rule_id=rule_id, by=by)
        if push:
            _queue_push(f.account_id for f in new)
    logger.info("tag added", extra={"tag_id": tag.pk, "followers": len(new), "source": source})
    return [f.pk for f in new]


def tag_remove(*, tag: Tag, followers: Iterable[Follower | int], by: Membership | None = None,
               source: str = PORTAL, rule_id: int | None = None, push: bool = True,
               at: datetime | None = None) -> list[int]:
    """Take ``tag`` off each of ``followers`` that has it; answers the ids untagged now."""
    at = at or timezone.now()
    with transaction.atomic():
        rows = _followers(tag.brand_id, followers)
        through = Follower.tags.through.objects.filter(
            tag_id=tag.pk, follower_id__in=[f.pk for f in rows])
        had = set(through.values_list("follower_id", flat=True))
        gone = [f for f in rows if f.pk in had]
        if not gone:
            return []
        through.delete()
        if push:
            on_wechat = set(AccountTag.objects.filter(tag=tag).values_list("account_id",
                                                                             flat=True))
            # Never on WeChat (no tag id there, or the add was refused or not yet made):
            # nothing to undo there.
            unsent = set(TagSync.objects.filter(tag=tag, follower__in=gone, op=TagSync.Op.ADD)
                         .values_list("follower_id", flat=True))
            TagSync.objects.filter(tag=tag, follower__in=gone).delete()
            remote = [f for f in gone if f.account_id in on_wechat and f.pk not in unsent]
            _record_sync(tag, remote, op=TagSync.Op.REMOVE)
            _queue_push(f.account_id for f in remote)
        else:
            TagSync.objects.filter(tag=tag, follower__in=gone).delete()
        _timeline(CustomerActivity.Kind.TAG_REMOVED, tag, gone, at=at, source=source,
                  rule_id=rule_id, by=by)
        _announce("tag.removed", tag, gone, source=source, rule_id=rule_id, by=by)
    logger.info("tag removed", extra={"tag_id": tag.pk, "followers": len(gone),
                                      "source": source})
    return [f.pk for f in gone]


def _record_sync(tag: Tag, followers: list[Follower], *, op: str) -> None:
    if not followers:
        return
    TagSync.objects.bulk_create(
        [TagSync(brand_id=tag.brand_id, account_id=f.account_id, follower_id=f.pk, tag=tag,
                 op=op, state=TagSync.State.PENDING) for f in followers],
        update_conflicts=True, unique_fields=["follower", "tag"],
        update_fields=["op", "state", "reason", "errcode", "attempts", "updated_at"])
    TagSync.objects.filter(tag=tag, follower__in=followers).update(
        state=TagSync.State.PENDING, reason="", errcode=None, attempts=0, op=op)


def customer_follower_ids(*, brand_id: int, customer_ids: Iterable[int]) -> list[int]:
    """The followers behind customers: tagging a customer tags each of its followers."""
    return list(Follower.objects.filter(brand_id=brand_id, customer_id__in=set(customer_ids))
                .values_list("pk", flat=True))


# -- pushing to WeChat ------------------------------------------------------------------


@dataclass
class PushReport:
    created: list[str] = field(default_factory=list)  # tag names created on the account
    tagged: int = 0
    untagged: int = 0
    failed: int = 0
    pending: int = 0  # left for the next run (transient trouble)
    errors: list[str] = field(default_factory=list)


def _fail(rows: Iterable[TagSync], *, errcode: int | None, reason: str) -> int:
    ids = [r.pk for r in rows]
    TagSync.objects.filter(pk__in=ids).update(state=TagSync.State.FAILED, errcode=errcode,
                                              reason=reason[:255], updated_at=timezone.now())
    return len(ids)


def _client(account: OfficialAccount):  # noqa: ANN202
    from accounts.wechat_clients import client_for

    return client_for(account)


def _ensure_account_tag(client, account: OfficialAccount, tag: Tag,  # noqa: ANN001
                        report: PushReport) -> AccountTag | None:
    """The tag's id on ``account``, creating the tag there (tags/create) when missing
    (None: the brand tag was deleted meanwhile). Raises WeChatError with the platform's
    code, or with 45056/45158 from our own check before calling."""
    found = AccountTag.objects.filter(tag=tag, account=account).first()
    if found is not None:
        return found
    with transaction.atomic():
        # Under the tag's lock, so a rename or delete running now is not overtaken by a
        # tag made on WeChat under the old name.
        current = _locked(tag)
        if current is None:
            return None
        tag.name = current.name
        return _create_account_tag(client, account, tag, report)


def _create_account_tag(client, account: OfficialAccount, tag: Tag,  # noqa: ANN001
                        report: PushReport) -> AccountTag:
    found = AccountTag.objects.filter(tag=tag, account=account).first()
    if found is not None:
        return found
    if len(tag.name) > limits.MAX_NAME:
        raise WeChatError(45158, "checked before calling")
    if AccountTag.objects.filter(account=account).count() >= limits.MAX_TAGS_PER_ACCOUNT:
        raise WeChatError(45056, "checked before calling")
    try:
        made = client.tag_create(tag.name)
    except WeChatError as exc:
        if exc.errcode != 45157:
            raise
        # The name is taken on WeChat: a tag made there (or by an earlier run whose answer
        # was lost). Map it rather than fail.
        made = next((t for t in client.tag_list() if t.get("name") == tag.name), None)
        if made is None:
            raise
    else:
        report.created.append(tag.name)
    mapped, _created = AccountTag.objects.update_or_create(
        tag=tag, account=account,
        defaults={"brand_id": account.brand_id, "wechat_id": int(made["id"]),
                  "synced_at": timezone.now()})
    logger.info("tag created on the account", extra={
        "account_id": account.pk, "tag": tag.name, "wechat_id": mapped.wechat_id})
    return mapped


def _tag_counts(account: OfficialAccount, follower_ids: list[int]) -> dict[int, int]:
    """How many of the portal's tags each follower has on WeChat: mapped on the account,
    and not still waiting (or refused) there."""
    on_wechat = AccountTag.objects.filter(account=account).values("tag_id")
    pairs = (Follower.tags.through.objects
             .filter(follower_id__in=follower_ids, tag_id__in=on_wechat)
             .values_list("follower_id", "tag_id"))
    not_there = set(TagSync.objects.filter(follower_id__in=follower_ids, op=TagSync.Op.ADD)
                    .values_list("follower_id", "tag_id"))
    counts: dict[int, int] = defaultdict(int)
    for pair in pairs:
        if pair not in not_there:
            counts[pair[0]] += 1
    return counts


def tags_push_account(*, account_id: int) -> PushReport:
    """Make the account's pending tag changes on WeChat, 50 openids per call."""
    report = PushReport()
    account = OfficialAccount.objects.filter(pk=account_id).first()
    if account is None:
        return report
    pending = list(TagSync.objects.filter(account=account, state=TagSync.State.PENDING)
                   .select_related("tag", "follower").order_by("tag_id", "op", "pk"))
    if not pending:
        return report
    client = _client(account)
    groups: dict[tuple[int, str], list[TagSync]] = defaultdict(list)
    for row in pending:
        groups[(row.tag_id, row.op)].append(row)
    for (_tag_id, op), rows in groups.items():
        tag = rows[0].tag
        try:
            mapped = (_ensure_account_tag(client, account, tag, report) if op == TagSync.Op.ADD
                      else AccountTag.objects.filter(tag=tag, account=account).first())
        except WeChatError as exc:
            if is_transient(exc, Safety.IDEMPOTENT):
                report.pending += _retry_later(rows, exc.reason)
                continue
            reason = limits.reason_for(exc.errcode, exc.reason)
            report.failed += _fail(rows, errcode=exc.errcode, reason=reason)
            report.errors.append(f"{tag.name}: {reason}")
            logger.warning("tag refused on the account", extra={
                "account_id": account.pk, "tag": tag.name, "errcode": exc.errcode,
                "reason": reason})
            continue
        except TransportError as exc:
            report.pending += _retry_later(rows, str(exc))
            continue
        if mapped is None:  # removing a tag WeChat never had, or the tag is gone
            TagSync.objects.filter(pk__in=[r.pk for r in rows]).delete()
            continue
        gone = [r for r in rows if not r.follower.subscribed]
        if gone:
            # WeChat refuses the whole batch for an openid that left (46004/49003 & co.).
            report.failed += _fail(gone, errcode=None, reason=str(NOT_FOLLOWING))
            rows = [r for r in rows if r.follower.subscribed]
        if op == TagSync.Op.ADD:
            rows = _refuse_full_followers(account, rows, report)
        for start in range(0, len(rows), limits.BATCH_SIZE):
            _push_batch(client, account, mapped, op, rows[start:start + limits.BATCH_SIZE],
                        report)
    logger.info("tags pushed", extra={"account_id": account.pk, "tagged": report.tagged,
                                      "untagged": report.untagged, "failed": report.failed})
    return report


def _refuse_full_followers(account: OfficialAccount, rows: list[TagSync],
                           report: PushReport) -> list[TagSync]:
    counts = _tag_counts(account, [r.follower_id for r in rows])
    full = [r for r in rows if counts.get(r.follower_id, 0) >= limits.MAX_TAGS_PER_FOLLOWER]
    if full:
        reason = limits.reason_for(45059)
        report.failed += _fail(full, errcode=45059, reason=reason)
        report.errors.append(f"{rows[0].tag.name}: {reason} ({len(full)})")
        logger.warning("followers at the tag limit", extra={
            "account_id": account.pk, "tag_id": rows[0].tag_id, "followers": len(full)})
    refused = {r.pk for r in full}
    return [r for r in rows if r.pk not in refused]


def _retry_later(rows: list[TagSync], reason: str) -> int:
    TagSync.objects.filter(pk__in=[r.pk for r in rows]).update(
        attempts=F("attempts") + 1, reason=reason[:255], updated_at=timezone.now())
    logger.warning("tag push deferred", extra={"rows": len(rows), "reason": reason})
    return len(rows)


def _call(client, op: str, wechat_id: int, openids: list[str]) -> None:  # noqa: ANN001
    if op == TagSync.Op.ADD:
        client.tag_add_users(wechat_id, openids)
    else:
        client.tag_remove_users(wechat_id, openids)


def _push_batch(client, account: OfficialAccount, mapped: AccountTag, op: str,  # noqa: ANN001
                rows: list[TagSync], report: PushReport) -> None:
    if not rows:
        return
    try:
        _call(client, op, mapped.wechat_id, [r.follower.openid for r in rows])
    except TransportError as exc:
        report.pending += _retry_later(rows, str(exc))
        return
    except WeChatError as exc:
        if is_transient(exc, Safety.IDEMPOTENT):
            report.pending += _retry_later(rows, exc.reason)
            return
        if exc.errcode == 45059 and len(rows) > 1:
            # All or nothing on WeChat's side: one follower at 20 tags refuses the batch.
            # One by one, so only those at the limit are refused.
            for row in rows:
                _push_batch(client, account, mapped, op, [row], report)
            return
        reason = limits.reason_for(exc.errcode, exc.reason)
        report.failed += _fail(rows, errcode=exc.errcode, reason=reason)
        report.errors.append(f"{mapped.tag.name}: {reason}")
        logger.warning("tag batch refused", extra={
            "account_id": account.pk, "tag_id": mapped.tag_id, "errcode": exc.errcode,
            "followers": len(rows)})
        return
    TagSync.objects.filter(pk__in=[r.pk for r in rows]).delete()
    AccountTag.objects.filter(pk=mapped.pk).update(synced_at=timezone.now())
    if op == TagSync.Op.ADD:
        report.tagged += len(rows)
    else:
        report.untagged += len(rows)


# -- pulling from WeChat ----------------------------------------------------------------


@dataclass
class PullReport:
    tags: int = 0
    brand_tags_created: list[str] = field(default_factory=list)
    added: int = 0
    removed: int = 0


def _map_platform_tag(account: OfficialAccount, wechat_id: int, name: str,
                      report: PullReport) -> Tag | None:
    if not name or limits.name_error(name):
        return None
    tag, created = tag_get_or_create(brand_id=account.brand_id, name=name)
    if created:
        report.brand_tags_created.append(name)
    # The account's tag with this id may have been mapped to another name (renamed on
    # WeChat): the id wins.
    AccountTag.objects.filter(account=account, wechat_id=wechat_id).exclude(tag=tag).delete()
    AccountTag.objects.update_or_create(
        tag=tag, account=account,
        defaults={"brand_id": account.brand_id, "wechat_id": wechat_id,
                  "synced_at": timezone.now()})
    return tag


def tags_pull_account(*, account_id: int, members: bool = True) -> PullReport:
    """Read the account's tags (tags/get) and, with ``members``, who carries each
    (user/tag/get): brand tags by name, made as needed; followers' portal tags follow
    WeChat, except where a portal change is still on its way there."""
    report = PullReport()
    account = OfficialAccount.objects.get(pk=account_id)
    client = _client(account)
    for row in client.tag_list():
        wechat_id = int(row.get("id", 0))
        if wechat_id in limits.SYSTEM_TAG_IDS:
            continue
        with transaction.atomic():
            tag = _map_platform_tag(account, wechat_id, str(row.get("name") or ""), report)
        if tag is None:
            continue
        report.tags += 1
        if members:
            openids = set(client.tag_iter_members(wechat_id))
            _follow_platform(account, tag, openids, report)
    logger.info("tags pulled", extra={"account_id": account.pk, "tags": report.tags,
                                      "added": report.added, "removed": report.removed})
    return report


def _follow_platform(account: OfficialAccount, tag: Tag, openids: set[str],
                     report: PullReport) -> None:
    base = Follower.objects.filter(account=account)
    busy = TagSync.objects.filter(account=account, tag=tag).values("follower_id")
    there = set(base.filter(openid__in=openids).exclude(pk__in=busy)
                .values_list("pk", flat=True)) if openids else set()
    here = set(base.filter(tags=tag).exclude(pk__in=busy).values_list("pk", flat=True))
    report.added += len(tag_add(tag=tag, followers=there - here, source=WECHAT, push=False))
    report.removed += len(tag_remove(tag=tag, followers=here - there, source=WECHAT,
                                     push=False))


def follower_tags_from_platform(*, follower: Follower, tagid_list: Iterable[int]) -> None:
    """What user/info's ``tagid_list`` says about one follower (the sync part calls this):
    the follower's tags on this account become those, by the account's mapping; unknown
    ids are left for the next `tags_pull_account`."""
    ids = {int(t) for t in tagid_list} - limits.SYSTEM_TAG_IDS
    mapped = dict(AccountTag.objects.filter(account_id=follower.account_id)
                  .values_list("wechat_id", "tag_id"))
    wanted = {mapped[i] for i in ids if i in mapped}
    busy = set(TagSync.objects.filter(follower=follower).values_list("tag_id", flat=True))
    current = set(follower.tags.filter(account_tags__account_id=follower.account_id)
                  .values_list("pk", flat=True))
    for tag in Tag.objects.filter(pk__in=(wanted - current) - busy):
        tag_add(tag=tag, followers=[follower], source=WECHAT, push=False)
    for tag in Tag.objects.filter(pk__in=(current - wanted) - busy):
        tag_remove(tag=tag, followers=[follower], source=WECHAT, push=False)


# -- reading ----------------------------------------------------------------------------


def tag_account_status(*, tag: Tag) -> list[dict]:
    """Per account of the brand: the tag's WeChat id (or none yet), pending and failed
    changes with the latest reason."""
    mapped = {m.account_id: m for m in tag.account_tags.all()}
    stats = {row["account_id"]: row for row in TagSync.objects.filter(tag=tag)
             .values("account_id")
             .annotate(pending=Count("pk", filter=Q(state=TagSync.State.PENDING)),
                       failed=Count("pk", filter=Q(state=TagSync.State.FAILED)))}
    reasons: dict[int, str] = {}
    for account_id, reason in (TagSync.objects.filter(tag=tag, state=TagSync.State.FAILED)
                               .order_by("-updated_at").values_list("account_id", "reason")
                               [:500]):
        reasons.setdefault(account_id, reason)  # the latest refusal of each account
    rows = []
    for account in OfficialAccount.objects.filter(brand_id=tag.brand_id).order_by("name"):
        m = mapped.get(account.pk)
        s = stats.get(account.pk, {})
        rows.append({
            "account_id": account.pk, "account": account.name,
            "wechat_id": m.wechat_id if m else None,
            "synced_at": m.synced_at if m else None,
            "pending": s.get("pending", 0), "failed": s.get("failed", 0),
            "error": reasons.get(account.pk, ""),
        })
    return rows
