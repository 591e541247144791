"""Benchmark: the CRM at a million followers: linking by unionid, a segment's count, and
streaming its openids.

    .venv/bin/python bench/crm.py [--followers 1000000] [--accounts 20] [--seed 7]
        [--reuse] [--explain]

What runs (not in CI), on PostgreSQL ``portal_bench_crm`` (dropped, created and migrated
here, unless ``--reuse`` finds it built at the same size):

- the build, with COPY (psycopg 3 ``cursor.copy``), not timed against any target: one
  brand, ``--accounts`` accounts, 30 brand tags, 10 campaigns with a permanent QR code on
  every account; ``--followers`` followers spread evenly over the accounts, drawn from a
  pool of people so that many follow several accounts, most with a unionid (shared across
  the accounts they follow); each follower with a placeholder customer of its own, as a
  sync leaves them before linking, a third of those with attributes (tier, score,
  birthday); 0-3 tags each (a few tags are common, most rare), a language, region, gender,
  follow date over two years, last message for most, a QR code for a third, a tenth
  unfollowed; a follow event each (with its QR code) and an unfollow event for those who
  left. VACUUM ANALYZE at the end (as autovacuum leaves a settled table);
- linking identities: ``followers.linking.customers_link_by_unionid(brand_id=...)`` over
  the whole brand, timed in a child process, with what runs when its transaction commits
  (the ``customer.merged`` subscribers, in-process as in the demo); stopped after
  ``--link-timeout`` seconds ("not available" where the module is missing);
- a segment with 3 conditions (any of two common tags, language en, followed in the last
  year) counted through ``followers.segments.segment_count`` (followers and distinct
  customers, one query): 5 runs, the median (and the followers-only count beside it);
- streaming the segment's members through the product's own path, in a child process:
  GET /api/v1/segments/<id>/export/ with an API key through Django's test client (the
  middleware, DRF, the scope, the compiler, followers.segment_export), the CSV consumed
  chunk by chunk, after one small API request (as a serving process has made before);
  time, the peak RSS (VmHWM) of that process, its RSS before the stream, and the peak
  during the stream alone (VmHWM reset through /proc/self/clear_refs); then a raw psycopg
  server-side cursor on the same SQL in another child, for comparison.

Targets: count < 200 ms; 1M openids streamed < 3 s with peak RSS < 100 MB (a raw cursor:
about 1.4 s and 40 MB on this machine, so the product's layers may cost at most about 2x).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "portal_bench_crm"
# What --reuse needs of the last build (its brand, size, API key), kept outside the repo.
STATE_FILE = Path(tempfile.gettempdir()) / "portal_bench_crm.json"
PG = "postgres://postgres@127.0.0.1:5432"
ENV = {
    "DATABASE_URL": f"{PG}/{DB_NAME}", "DEBUG": "1", "CELERY_TASK_ALWAYS_EAGER": "1",
    "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "config.settings",
    "DB_CONN_MAX_AGE": "0",
}
TAGS, CAMPAIGNS = 30, 10
LANGUAGES = ["zh_CN"] * 6 + ["en"] * 2 + ["zh_TW", "zh_HK", ""]
REGIONS = ["Shanghai", "Beijing", "Guangdong", "Zhejiang", "Hong Kong", "Taipei", ""]
TARGET_COUNT_MS, TARGET_STREAM_S, TARGET_RSS_MB = 200.0, 3.0, 100.0


def _setup() -> None:
    os.environ.update(ENV)
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _database() -> None:
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB_NAME],
                   check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB_NAME], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True,
                   env={**os.environ, **ENV})


def _copy(table_model, columns: list[str], rows) -> int:  # noqa: ANN001
    """COPY ``rows`` (tuples in ``columns`` order) into the model's table; the model's other
    columns get their Python defaults."""
    from django.db import connection
    from psycopg.types.json import Jsonb

    fields = [f for f in table_model._meta.concrete_fields if not f.primary_key]
    given = {name: i for i, name in enumerate(columns)}
    extra = [f for f in fields if f.column not in given]
    defaults = []
    for f in extra:
        value = f.get_default()
        defaults.append(Jsonb(value) if f.get_internal_type() == "JSONField" else value)
    names = ", ".join([*columns, *(f.column for f in extra)])
    n = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {table_model._meta.db_table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row, *defaults))
                n += 1
    return n


def _reserve(model, n: int) -> int:  # noqa: ANN001
    """The first of ``n`` ids taken from the model's sequence for explicit inserts."""
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))")
        first = cursor.fetchone()[0]
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)",
                       [first + n])
    return first


def build(args: argparse.Namespace) -> dict:
    from django.db import connection
    from psycopg.types.json import Jsonb

    from accounts.services import api_key_create
    from followers.models import Campaign, Customer, Follower, FollowEvent, QRCode, Tag
    from tests.factories import make_account, make_brand

    rng = random.Random(args.seed)
    started = time.perf_counter()
    brand = make_brand(name="Bench CRM")
    accounts = [make_account(brand=brand, name=f"Bench {n:02d}") for n in range(args.accounts)]
    tags = Tag.objects.bulk_create([Tag(brand=brand, name=f"tag {n:02d}") for n in range(TAGS)])
    campaigns = Campaign.objects.bulk_create(
        [Campaign(brand=brand, name=f"campaign {n}", channel="kol") for n in range(CAMPAIGNS)])
    codes = QRCode.objects.bulk_create([
        QRCode(brand=brand, account=a, campaign=c, kind="permanent", scene=str(i + 1))
        for a in accounts for i, c in enumerate(campaigns)])
    codes_of = {a.pk: [q.pk for q in codes if q.account_id == a.pk] for a in accounts}
    now = datetime.now(UTC)
    per_account = args.followers // args.accounts
    people = int(args.followers * 0.6)

    total = per_account * args.accounts
    # Explicit ids: a follower and its placeholder customer are made in one pass.
    first_customer = _reserve(Customer, total)
    first_follower = _reserve(Follower, total)

    def customers():
        for k in range(total):
            attributes = {}
            if rng.random() < 0.33:
                attributes = {"tier": rng.choice(["gold", "silver", "bronze"]),
                              "score": rng.randint(0, 100),
                              "birthday": f"{rng.randint(1960, 2005)}-0{rng.randint(1, 9)}-15"}
            yield (first_customer + k, brand.pk, "", Jsonb(attributes), now, now)

    n = _copy(Customer, ["id", "brand_id", "unionid", "attributes", "created_at",
                         "updated_at"], customers())
    print(f"  customers: {n:,} COPYed")

    def followers():
        k = 0
        for account in accounts:
            for person in rng.sample(range(people), per_account):
                qrcode = rng.choice(codes_of[account.pk]) if rng.random() < 0.33 else None
                followed = now - timedelta(days=rng.uniform(0, 730))
                subscribed = rng.random() >= 0.1
                unionid = f"ubench{person:09d}" if person % 5 else ""
                inbound = (now - timedelta(days=rng.expovariate(1 / 60))
                           if rng.random() < 0.7 else None)
                yield (first_follower + k, brand.pk, account.pk, first_customer + k,
                       f"obench{account.pk:04d}{person:09d}", unionid, subscribed, followed,
                       None if subscribed else followed + timedelta(days=3),
                       "ADD_SCENE_QR_CODE" if qrcode else "ADD_SCENE_SEARCH",
                       str(qrcode or ""), qrcode, rng.choice(LANGUAGES), rng.choice(REGIONS),
                       rng.choice([0, 0, 0, 1, 2]), inbound, now,
                       f"guest {person} {rng.choice(REGIONS)}" if rng.random() < 0.2 else "")
                k += 1

    n = _copy(Follower, ["id", "brand_id", "account_id", "customer_id", "openid", "unionid",
                         "subscribed", "subscribed_at", "unsubscribed_at", "subscribe_scene",
                         "qr_scene", "qrcode_id", "language", "region", "gender",
                         "last_inbound_at", "created_at", "remark"], followers())
    print(f"  followers: {n:,} COPYed")
    tag_ids = [t.pk for t in tags]
    weights = [1 / (k + 1) for k in range(TAGS)]  # a few common tags, most rare

    def links():
        for follower_id in range(first_follower, first_follower + total):
            for tag_id in set(rng.choices(tag_ids, weights, k=rng.randint(0, 3))):
                yield (follower_id, tag_id)

    n_links = _copy(Follower.tags.through, ["follower_id", "tag_id"], links())
    print(f"  follower tags: {n_links:,} COPYed")
    # The follow events follow from the followers: one set-based statement each.
    insert = (f"INSERT INTO {FollowEvent._meta.db_table} (brand_id, account_id, follower_id, "  # noqa: S608
              "kind, scene, ticket, qrcode_id, at) SELECT brand_id, account_id, id, %s, {} "
              f"FROM {Follower._meta.db_table} WHERE brand_id = %s")
    with connection.cursor() as cursor:
        cursor.execute(insert.format("qr_scene, '', qrcode_id, subscribed_at"),
                       ["follow", brand.pk])
        follows = cursor.rowcount
        cursor.execute(insert.format("'', '', NULL, unsubscribed_at") + " AND NOT subscribed",
                       ["unfollow", brand.pk])
        print(f"  follow events: {follows + cursor.rowcount:,} inserted")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    _key, raw = api_key_create(brand=brand, name="bench")
    print(f"built in {time.perf_counter() - started:.1f} s")
    state = {"brand": brand.pk, "followers": total, "tags": tag_ids[:2], "key": raw,
             "campaigns": [c.pk for c in campaigns]}
    STATE_FILE.write_text(json.dumps(state))
    return state


def _vm(name: str) -> float:
    """A /proc/self/status figure (VmRSS, VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_export(segment_id: int, key: str) -> None:
    """The product's path: the export endpoint through Django's whole stack. One small API
    request first (what a serving process has done before: URL conf, views, DRF loaded);
    then the peak is reset (/proc/self/clear_refs), so the stream's own peak shows beside
    the process's."""
    _setup()
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert client.get("/api/v1/segments/?page_size=1", **auth).status_code == 200
    setup_peak = _vm("VmHWM")
    before = _vm("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    started = time.perf_counter()
    response = client.get(f"/api/v1/segments/{segment_id}/export/", HTTP_ACCEPT="text/csv",
                          **auth)
    assert response.status_code == 200, response.status_code
    size = rows = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        rows += chunk.count(b"\n")
    response.close()
    elapsed = time.perf_counter() - started
    stream_peak = _vm("VmHWM")
    print(json.dumps({"rows": rows - 1, "bytes": size, "s": elapsed, "rss_before": before,
                      "peak": max(setup_peak, stream_peak), "stream_peak": stream_peak}))


def child_raw(sql: str, params: list) -> None:
    """The floor: a psycopg named cursor on the same SQL, rows written as CSV lines."""
    import csv
    import io

    import psycopg

    before = _vm("VmRSS")
    started = time.perf_counter()
    size = rows = 0
    with psycopg.connect(f"{PG}/{DB_NAME}") as conn, conn.cursor(name="raw") as cursor:
        cursor.itersize = 5000
        cursor.execute(sql, params)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for row in cursor:
            writer.writerow(row)
            rows += 1
            if rows % 5000 == 0:
                size += len(buffer.getvalue().encode())
                buffer.seek(0)
                buffer.truncate()
        size += len(buffer.getvalue().encode())
    peak = _vm("VmHWM")
    print(json.dumps({"rows": rows, "bytes": size, "s": time.perf_counter() - started,
                      "rss_before": before, "peak": peak, "stream_peak": peak}))


def _child(*argv: str, timeout: float | None = None) -> dict:
    out = subprocess.run([sys.executable, __file__, *argv], cwd=ROOT, check=True,
                         capture_output=True, text=True, env={**os.environ, **ENV},
                         timeout=timeout)
    return json.loads(out.stdout.strip().splitlines()[-1])


def child_link(brand_id: int) -> None:
    _setup()
    try:
        from followers.linking import customers_link_by_unionid
    except ImportError:
        print(json.dumps({"missing": True}))
        return
    started = time.perf_counter()
    moved = customers_link_by_unionid(brand_id=brand_id)
    print(json.dumps({"s": time.perf_counter() - started, "moved": moved}))


def _link(state: dict, timeout: float) -> None:
    """Link identities in a child, so a run past ``timeout`` can be stopped (its
    transaction rolls back, the placeholders stay)."""
    try:
        found = _child("--child", "link", "--brand", str(state["brand"]), timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"link identities by unionid: did not finish within {timeout:.0f} s for "
              f"{state['followers']:,} followers (stopped; nothing linked)")
        return
    if found.get("missing"):
        print("link identities by unionid: not available (followers.linking is missing)")
        return
    print(f"link identities by unionid: {found['s']:.2f} s for {state['followers']:,} "
          f"followers ({found['moved']:,} changed customer; "
          f"{state['followers'] / found['s']:,.0f} followers/s)")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def _follower_list(scope, brand) -> None:  # noqa: ANN001
    """The brand UI's follower list (followers.selectors_sync.follower_page, what the page
    and /api/v1/followers/ run): a page of 50 for the filters a person uses, median of 5."""
    from followers import selectors_sync
    from followers.models import Follower

    ids = list(Follower.objects.filter(brand=brand).order_by("-pk")
               .values_list("pk", flat=True)[50_000:50_001])
    some = Follower.objects.filter(brand=brand, remark__gt="").order_by("pk").first()
    cases = [
        ("the first page", {}),
        ("a page 50,000 rows down (?after=)", {"after": str(ids[0])} if ids else {}),
        ("one account, following", {"account": str(some.account_id), "following": "1"}),
        ("a common tag, English", {"tag": str(some.tags.values_list("pk", flat=True).first()
                                              or ""), "language": "en"}),
        ("an openid's start", {"q": some.openid[:14]}),
        ("an account's openid prefix (all its followers)", {"q": some.openid[:10]}),
        ("a remark's number (one follower)", {"q": some.remark.split(" ", 2)[1]}),
        ("a word in a fifth of the remarks", {"q": "guest"}),
        ("the same, English only", {"q": "guest", "language": "en"}),
        ("two letters", {"q": "gu"}),
        ("a search nothing matches", {"q": "no such guest"}),
    ]
    print("follower list, a page of 50 (median of 5):")
    for label, params in cases:
        filters = selectors_sync.follower_filters_from({k: v for k, v in params.items() if v})
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            page = selectors_sync.follower_page(scope=scope, filters=filters)
            runs.append((time.perf_counter() - started) * 1000)
        print(f"  {label}: {statistics.median(runs):.1f} ms ({len(page.rows)} rows"
              f"{', more' if page.next_after else ''})")


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followers", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true",
                        help="keep portal_bench_crm when it was built at this size")
    parser.add_argument("--explain", action="store_true", help="print the count's plan")
    parser.add_argument("--link-timeout", type=float, default=300.0,
                        help="seconds the linking may take before it is stopped")
    parser.add_argument("--child", choices=["export", "raw", "link"], help=argparse.SUPPRESS)
    parser.add_argument("--brand", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--segment", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--sql", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "export":
        child_export(args.segment, args.key)
        return 0
    if args.child == "link":
        child_link(args.brand)
        return 0
    if args.child == "raw":
        sql, params = json.loads(args.sql)
        child_raw(sql, params)
        return 0

    state_file = STATE_FILE
    state = json.loads(state_file.read_text()) if state_file.exists() else None
    reuse = args.reuse and state is not None and state["followers"] == (
        args.followers // args.accounts * args.accounts)
    if not reuse:
        _database()
    _setup()

    from accounts.models import Brand
    from followers import segments
    from followers.models import Follower, Segment
    from tests.factories import owner_scope

    if not reuse:
        print(f"building {args.followers:,} followers over {args.accounts} accounts in "
              f"{DB_NAME} ...")
        state = build(args)
        _link(state, args.link_timeout)
    else:
        print(f"reusing {DB_NAME} ({state['followers']:,} followers); linking not re-run")

    brand = Brand.objects.get(pk=state["brand"])
    scope = owner_scope(brand)
    since = (datetime.now(UTC) - timedelta(days=365)).date().isoformat()
    definition = segments.definition_clean(scope=scope, definition={
        "tags": {"any": state["tags"]}, "languages": ["en"], "followed": {"from": since}})
    runs = [segments.segment_count(scope=scope, definition=definition) for _ in range(5)]
    median = statistics.median(r.ms for r in runs)
    queryset = segments.segment_followers(scope=scope, definition=definition)
    only = []
    for _ in range(5):
        started = time.perf_counter()
        queryset.count()
        only.append((time.perf_counter() - started) * 1000)
    print(f"segment count, 3 conditions ({json.dumps(definition)}): "
          f"{runs[0].followers:,} followers, {runs[0].customers:,} customers; median of 5 "
          f"{median:.1f} ms (runs: {', '.join(f'{r.ms:.0f}' for r in runs)} ms; followers "
          f"only: median {statistics.median(only):.1f} ms)  target < {TARGET_COUNT_MS:.0f} "
          f"ms: {_verdict(median < TARGET_COUNT_MS)}")
    if args.explain:
        print(queryset.explain(analyze=True))
    _follower_list(scope, brand)

    # The stream: every follower of the brand who follows (the broadcast audience).
    segment, _ = Segment.objects.update_or_create(
        brand=brand, name="bench: every follower", defaults={"definition": {}})
    members = segments.segment_members(scope=scope, segment=segment)
    expected = members.count()
    product = _child("--child", "export", "--segment", str(segment.pk), "--key", state["key"])
    assert product["rows"] == expected, (product["rows"], expected)
    sql, params = members.order_by().values_list("openid", "account__appid", "unionid",
                                                 "customer_id").query.sql_with_params()
    raw = _child("--child", "raw", "--sql", json.dumps([sql, list(params)]))
    assert raw["rows"] == expected, (raw["rows"], expected)
    scale = 1_000_000 / max(expected, 1)
    for label, figures in (("product's export (HTTP, DRF, compiler, CSV)", product),
                           ("raw server-side cursor (psycopg, CSV)", raw)):
        print(f"stream {figures['rows']:,} openids, {label}: {figures['s']:.2f} s "
              f"({figures['rows'] / figures['s']:,.0f} rows/s; {figures['s'] * scale:.2f} s "
              f"per million), {figures['bytes'] / 1e6:.1f} MB of CSV; peak RSS of the "
              f"process {figures['peak']:.0f} MB (RSS {figures['rss_before']:.0f} MB before "
              f"the stream, peak during it {figures['stream_peak']:.0f} MB, "
              f"+{figures['stream_peak'] - figures['rss_before']:.0f} MB)")
    ok = product["s"] * scale < TARGET_STREAM_S and product["peak"] < TARGET_RSS_MB
    print(f"  targets: 1M in < {TARGET_STREAM_S:.0f} s, peak RSS < {TARGET_RSS_MB:.0f} MB: "
          f"{_verdict(ok)}; product/raw time {product['s'] / raw['s']:.2f}x, peak RSS "
          f"{product['peak'] / raw['peak']:.2f}x")
    count_all = Follower.objects.filter(brand=brand).count()
    print(f"(brand total: {count_all:,} followers, {expected:,} following)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
