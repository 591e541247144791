"""The environment every test run starts from, loaded as a plugin (`-p tests.environment`
in pyproject's addopts) so that it runs before pytest-django imports the settings; a
conftest.py is loaded after them, too late for anything config/settings.py reads.

DEBUG defaults to off (production); the tests run as the demo does, on its development
keys, unless the caller's environment says otherwise.
"""

import os

os.environ.setdefault("DEBUG", "1")
# Routing reads a brand's configuration afresh for every batch (production keeps it 2 s,
# routing/shared_reads.py), so a test that changes a rule sees the next route follow it;
# the `lasting` tests of tests/routing/test_route_batches.py keep it.
os.environ.setdefault("ROUTING_CONFIG_SECONDS", "0")

# Under pytest-xdist (`make test`'s parallel phase) each worker process gets a Redis
# database of its own: REDIS_URL's database plus the worker's index (gw0 +0, gw1 +1, ...),
# so one worker's cache.clear(), broker queues, locks and channel-layer groups (the
# layer's prefix names the database) never touch another's. This must happen here, before
# config/settings.py reads REDIS_URL. pytest-django already gives each worker its own test
# database (test_<name>_gw0, ...); the sandbox and callback servers bind port 0.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("TESTS_REDIS_DB_FOR") != _worker:
    from urllib.parse import urlsplit, urlunsplit

    def _redis_db_for_worker(url: str, index: int) -> str:
        parts = urlsplit(url)
        if not parts.scheme.startswith("redis"):
            return url
        db = int(parts.path.strip("/") or 0) + index
        if db > 15:
            raise RuntimeError(f"{url}: worker {_worker} would use Redis db {db} (> 15); "
                               "start REDIS_URL on a lower database or use fewer workers")
        return urlunsplit(parts._replace(path=f"/{db}"))

    _index = int(_worker[2:])
    for _name in ("REDIS_URL", "CELERY_BROKER_URL"):
        if os.environ.get(_name):
            os.environ[_name] = _redis_db_for_worker(os.environ[_name], _index)
    # A pytest started again from inside this process does not shift the number twice.
    os.environ["TESTS_REDIS_DB_FOR"] = _worker
