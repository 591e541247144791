"""The demo on SQLite, as `make demo` runs it: migrate, seed_demo, then one child process
(tests/demo_sqlite_walk.py) walks the brand UI logged in as the seeded owner and runs the
CRM's set-based work: every page without an argument and the seeded objects' pages answer
200, the retention table counts by each account's local date, a segment with attribute
conditions is counted, a duplicate phone is found, a full sync against a sandbox ends done
without losing the seeded followers, the periodic tasks (sync resume, behaviour rules, the
eraser) do their work, and linking by unionid moves a follower.

The rest of the suite runs on PostgreSQL; this is the one place the CRM's SQL meets SQLite.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own interpreter and scripts
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120)


def _demo_env(tmp_path: Path) -> dict[str, str]:
    """The demo's environment: SQLite in ``tmp_path``, eager tasks, no Redis."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE",
                        "WECHAT_API_BASE", "TESTS_REDIS_DB_FOR")}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "DEBUG": "1",
                "CELERY_TASK_ALWAYS_EAGER": "1", "LOG_LEVEL": "ERROR"})
    return env


def test_the_crm_works_on_the_demo_database(tmp_path: Path) -> None:
    env = _demo_env(tmp_path)
    for step in (["manage.py", "migrate", "--noinput", "-v0"], ["manage.py", "seed_demo"]):
        done = _run(step, env)
        assert done.returncode == 0, done.stderr[-3000:]
    walked = _run(["tests/demo_sqlite_walk.py"], env)
    assert walked.returncode == 0, walked.stderr[-5000:]
    lines = [line for line in walked.stdout.splitlines() if line.startswith("REPORT ")]
    assert lines, walked.stdout[-2000:] + walked.stderr[-3000:]
    report = json.loads(lines[-1].removeprefix("REPORT "))

    pages = report["pages"]
    failing = {url: page for url, page in pages.items() if page["status"] != 200}
    assert not failing, (failing, walked.stderr[-5000:])
    assert {"/crm/followers/", "/crm/campaigns/", "/crm/segments/", "/crm/customers/",
            "/crm/tags/", "/"} <= set(pages)
    for detail in (r"/crm/customers/\d+/", r"/crm/campaigns/\d+/", r"/crm/segments/\d+/",
                   r"/crm/followers/\?tag=\d+", r"/official-accounts/\d+/"):
        assert any(re.fullmatch(detail, url) for url in pages), detail
    assert len(pages) >= 60  # the brand UI's pages, not a handful
    assert set(report["downloads"].values()) == {"text/csv"}

    retention = report["retention"]
    # Every follow counted on its account's local date (Asia/Shanghai), per campaign.
    assert retention["rows"] == retention["expected"]
    assert retention["rows_shown"] == retention["row_count"] > 0
    assert retention["kol_unfollowed"] == retention["kol_in_period"] \
        == retention["kol_expected"] > 0

    segment = report["segment"]
    assert [segment["followers"], segment["customers"]] == segment["expected"]
    assert segment["expected"][0] > 0 and segment["page"] == 200

    duplicates = report["duplicates"]
    assert duplicates["found"] == duplicates["expected"]
    assert duplicates["on_page"] == [duplicates["other"]]

    synced = report["sync"]
    # run_demo put the seeded followers on the platform: the sync finds them following.
    assert synced["registered"] == synced["seeded"] > 0
    assert synced["status"] == "done"
    assert (synced["listed"], synced["created"], synced["gone"], synced["profiles"]) == (
        synced["seeded"], 1, 1, synced["seeded"])
    assert synced["seeded_unchanged"] and synced["leaving_subscribed"] is False
    customer, unionid, language, following = synced["newcomer"]
    assert customer is not None and (unionid, language, following) == ("", "en", True)
    assert synced["linked"] == 1  # the newcomer's own customer

    periodic = report["periodic"]
    assert periodic["results"]["crm-sync-resume"] == 1
    assert periodic["resumed_status"] == "done"
    assert periodic["results"]["crm-behaviour-rules"]["changes"] == \
        periodic["multi_expected"] > 0
    assert periodic["results"]["crm-retention-erase"] == len(periodic["erased"]) > 0
    assert periodic["erased"] == periodic["erase_expected"]
    assert periodic["zhao"] == ["", "", {}]  # left 3 days ago; the brand keeps 1 day
    # The follower list's sync column: each account's newest job.
    shown = {account: job for account, job in report["sync_rows"].items() if job}
    assert shown == report["sync_rows_expected"]

    assert report["linking"] == {"linked": 2, "joined": True, "placeholder_left": False,
                                 "lonely_has_customer": True, "again": 0}
