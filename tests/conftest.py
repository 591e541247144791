import os

import pytest

# The platform sandbox and callback receiver fixtures, for tests in every directory.
pytest_plugins = ["tests.sandbox_fixtures"]

# Tests that cannot share the machine with a second test process: a real Celery worker or
# broker, a live server, the browser, servers and process pools of their own with timing
# bounds. They are marked `serial` (here by the fixtures they use, or by a module's
# pytestmark), and `make test` (scripts/test.sh) runs them alone after the parallel phase.
SERIAL_FIXTURES = frozenset({
    "workers", "broker",  # tests/messaging/worker_support.py, test_task_batches, push_task
    "live_server", "browser", "page",  # pytest-django's live server; tests/browser
    "private_redis", "gunicorn",  # a redis-server or gunicorn subprocess of the test's own
})


@pytest.hookimpl(tryfirst=True)  # before `-m "not serial"` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERIAL_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.serial)
        _name_the_operation(item)


def _name_the_operation(item: pytest.Item) -> None:
    # Schemathesis makes one test per API operation and names it "test[GET /path/]", but
    # pytest (9.x) builds a test's id from its function's name and parameters, so all 137
    # had one id, and pytest-xdist, which hands tests to its workers by id, ran one of
    # them. Each gets the operation in its id, as its name has it.
    label = getattr(item, "operation_label", None)
    if label and not item.nodeid.endswith("]"):
        item._id = item.parent.id.child(item.originalname).with_params(label)


# Tests run Celery tasks in-process through the same code paths (JSON-clean payloads),
# while the cache and the channel layer still use the real Redis.
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
# Connections opened by async tests' worker threads must not outlive the test database.
os.environ.setdefault("DB_CONN_MAX_AGE", "0")


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    # A channel layer used from sync code (async_to_sync in an eager task) binds its locks
    # to that call's event loop; a later async test then fails on "bound to a different
    # event loop". Each test starts with a new layer instance.
    yield
    from channels.layers import channel_layers

    from routing import push_loop

    push_loop.stop()  # the pushes' loop, and the old layer's connections on it
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _fresh_callback_caches():
    # The callback keeps accounts and auto-replies in process for a few seconds; a test
    # must not see the rows of the one before.
    yield
    from messaging import auto_replies, callback

    callback._accounts.clear()
    auto_replies._cache.clear()
    auto_replies._hours_cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _flush_by_delete():
    """A test on real transactions (a worker, a live server, the browser) ends with
    Django's flush of every table, on PostgreSQL one TRUNCATE: measured here at 0.6-1.3 s
    for the 61 tables (each gets new files), against 0.02-0.04 s for a DELETE of each,
    which leaves the same empty tables. The foreign keys are deferred (Django makes them
    so), so the order does not matter. A flush that resets the sequences keeps TRUNCATE
    (its RESTART IDENTITY)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):  # noqa: ANN001, ANN202
        if reset_sequences or not tables:
            return truncate(self, style, tables, reset_sequences=reset_sequences,
                            allow_cascade=allow_cascade)
        return ["SET CONSTRAINTS ALL DEFERRED;",
                *(f"{style.SQL_KEYWORD('DELETE FROM')} "
                  f"{style.SQL_FIELD(self.quote_name(table))};" for table in tables)]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


@pytest.fixture(autouse=True)
def _default_language():
    # A request in Chinese through the test client leaves Chinese active in this thread
    # (LocaleMiddleware activates, nothing deactivates); the next test starts in English.
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture
def announced(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict]]:
    """Domain events as they are announced (name, payload), checked against their shapes
    and not delivered: the unit tests of a service look at what it says, not at what the
    subscribers then do."""
    from accounts import events

    seen: list[tuple[str, dict]] = []

    def record(name: str, payload: dict) -> None:
        events._check(name, payload)
        seen.append((name, payload))

    monkeypatch.setattr(events, "announce", record)
    return seen


@pytest.fixture
def two_brands(db):  # noqa: ANN001
    """Every test dataset has two brands (docs/architecture.md, tenancy): A is ours, B is the
    foreign one."""
    from tests.factories import (
        make_account,
        make_brand,
        make_conversation,
        make_member,
        make_team,
    )

    brand_a, brand_b = make_brand(name="Brand A"), make_brand(name="Brand B")
    a1 = make_account(brand=brand_a, name="A flagship", is_flagship=True)
    a2 = make_account(brand=brand_a, name="A property")
    b1 = make_account(brand=brand_b, name="B flagship")
    team_a = make_team(brand=brand_a, name="A team", accounts=[a1])
    team_b = make_team(brand=brand_b, name="B team", accounts=[b1])
    agent_a = make_member(brand=brand_a, role="agent", accounts=[a2])
    admin_a = make_member(brand=brand_a, role="admin")
    manager_a = make_member(brand=brand_a, role="manager", accounts=[a1])
    admin_b = make_member(brand=brand_b, role="admin")
    # One conversation per brand, on its flagship and in its team's queue.
    conversation_a = make_conversation(account=a1, team=team_a)
    conversation_b = make_conversation(account=b1, team=team_b)
    return {
        "brand_a": brand_a,
        "brand_b": brand_b,
        "a1": a1,
        "a2": a2,
        "b1": b1,
        "team_a": team_a,
        "team_b": team_b,
        "agent_a": agent_a,
        "admin_a": admin_a,
        "manager_a": manager_a,
        "admin_b": admin_b,
        "conversation_a": conversation_a,
        "conversation_b": conversation_b,
    }


@pytest.fixture(autouse=True)
def _task_joins_allowed():
    # Celery keeps "a task is running here, do not block on a result" in one process-wide
    # flag, set while an eager task runs (`denied_join_result`). An eager task still
    # running on a thread an earlier test left behind (a live server's, a drill's) leaves
    # it set, and the next test's `.get()` on an eager result then raises "Never call
    # result.get() within a task!": which test depends on the order xdist deals them.
    # Each test starts with it cleared.
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
    yield


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    # PBKDF2 at full strength costs ~0.3 s a user; the tests create hundreds.
    try:
        from django.conf import settings
    except ImportError:
        yield
        return
    if settings.configured:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield


@pytest.fixture(autouse=True, scope="session")
def _eager_celery():
    # pytest-django loads the settings before this file runs, so the environment default
    # above comes too late when REDIS_URL is set; tell the Celery app directly.
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
