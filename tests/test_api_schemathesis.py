"""The REST API against its own schema (/api/schema/), fuzzed by schemathesis.

Every operation of the schema is one test. Each runs in-process over WSGI against the
test database, with a brand API key of brand A, on a seeded dataset: brand A with
accounts, members, a team, conversations (with messages, an image and a tagged follower)
and prepared responses; brand B, the foreign one, with the same. Generated ids are mapped
onto those objects (ours and the foreign brand's, see `_seeded`), so the success paths run
as well as the 404s. Each generated request runs in a savepoint that is rolled back, so a
DELETE or a PUT does not change what the next request meets.

All of schemathesis's checks run, in its examples, coverage and fuzzing phases; CONFIG
names the one check left out on two operations and why, and why generation leaves out
the NUL character. The examples are bounded and derandomized (a fixed seed, no example
database): the run is the same on every machine and fits in CI.
"""

import hypothesis
import pytest
import schemathesis
from django.core.files.base import ContentFile
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck
from hypothesis.internal.conjecture import providers as _providers

from accounts.models import ApiKey, hash_token
from accounts.services import api_key_create
from followers.models import Tag
from messaging.models import Message, PreparedResponse
from tests.factories import make_conversation, make_follower
from tests.messaging.test_replies_sandbox import PNG

CONFIG = {
    "seed": 9,
    "generation": {
        "max-examples": 10,
        "deterministic": True,
        "database": "none",
        # The API refuses a NUL character in any query parameter or field, by design, with
        # 400 (accounts.api_base.check_input; tests/test_api_input.py sends one to every
        # operation). JSON Schema cannot say "no NUL" short of a pattern on every string,
        # so generating them would have positive_data_acceptance report each 400.
        "allow-x00": False,
    },
    # The stateful phase chains operations by their links; the schema declares none.
    "phases": {"stateful": {"enabled": False}},
    # One check is left out, on operations whose rules JSON Schema cannot state, so
    # a schema-valid request is rightly refused with 400 there. Every other check still
    # runs on them, and positive_data_acceptance runs everywhere else.
    "operations": [
        {
            # `until` must lie in the future: a rule of the clock.
            "include-path": "/api/v1/conversations/{id}/snooze/",
            "checks": {"positive_data_acceptance": {"enabled": False}},
        },
        {
            # A reply sends exactly one thing (a text, a prepared response, an image or a
            # media id) and, signed, must still fit 2,000 characters, whose signature
            # depends on who sends it: rules across fields and stored data.
            "include-path": "/api/v1/conversations/{id}/messages/",
            "include-method": "POST",
            "checks": {"positive_data_acceptance": {"enabled": False}},
        },
        {
            # A report's period is at most ten years and starts before it ends: a rule
            # across two parameters (and, with one left out, the clock).
            "include-path-regex": "^/api/v1/(campaign-report/|campaigns/\\{id\\}/report/)$",
            "checks": {"positive_data_acceptance": {"enabled": False}},
        },
    ],
}

# Hypothesis (6.13x and later) also draws literals it finds in every local module loaded
# in the process (hypothesis.internal.conjecture.providers._get_local_constants). Which
# modules those are depends on the tests a pytest-xdist worker ran before this file, so
# the examples would change with the distribution of the suite: with a new test file
# elsewhere, they picked "csv" and "2000-01-01" from the CRM's code. No local constants:
# the examples depend on the schema and the seed alone.
_providers._get_local_constants = lambda: _providers.Constants()
_providers.CONSTANTS_CACHE.cache.clear()

schema = schemathesis.openapi.from_wsgi(
    "/api/schema/", get_wsgi_application(), config=schemathesis.Config.from_dict(CONFIG)
)

# Filled by the `seeded` fixture before the fuzzing phase generates its requests: which ids
# a generated id may turn into, for each kind of object (ours first, then the foreign
# brand's). The coverage phase's requests, built at collection, keep the ids they have.
SEEDED: dict[str, list[int]] = {}
PATH_KINDS = {
    "accounts": "account", "members": "member", "teams": "team",
    "conversations": "conversation", "prepared-responses": "prepared",
}
BODY_KINDS = {
    "accounts": "account", "account": "account", "teams": "team", "team": "team",
    "assignee": "member",
}


def _seeded(kind: str, value: object) -> object:
    """An id onto a seeded object (or left alone), picked by the value itself so that the
    run stays deterministic. Only valid ids are mapped: an invalid one stays invalid."""
    pool = SEEDED.get(kind)
    if not pool or isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return value
    choice = value % (len(pool) + 1)
    return pool[choice] if choice < len(pool) else value


# Brand A's key. Its value is fixed because the coverage phase builds its requests when
# the tests are collected, before any key exists; `seeded` gives the key this value.
API_KEY = "bp_schemathesis-fixed-test-key-0000000000000000000000"


@schema.auth(refresh_interval=None)
class SeededKey:
    """Brand A's key on every request, except where schemathesis leaves the header out or
    spoils it on purpose (negative cases, the ignored_auth check)."""

    def get(self, case, context):  # noqa: ANN001, ANN201
        return API_KEY

    def set(self, case, data, context):  # noqa: ANN001, ANN201
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.hook
def map_path_parameters(context, path_parameters):  # noqa: ANN001, ANN201
    if not isinstance(path_parameters, dict):
        return path_parameters
    kind = PATH_KINDS.get(context.operation.path.split("/")[3])
    if kind and "id" in path_parameters:
        path_parameters["id"] = _seeded(kind, path_parameters["id"])
    if "message_id" in path_parameters:
        path_parameters["message_id"] = _seeded("message", path_parameters["message_id"])
    return path_parameters


@schema.hook
def map_body(context, body):  # noqa: ANN001, ANN201
    if not isinstance(body, dict):
        return body
    for name, kind in BODY_KINDS.items():
        value = body.get(name)
        if isinstance(value, list):
            body[name] = [_seeded(kind, item) for item in value]
        elif value is not None:
            body[name] = _seeded(kind, value)
    return body


@pytest.fixture
def in_process():
    # Django closes the database connection when a request ends; the test client stops
    # that, and so must a WSGI client that shares the test's connection (and transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(two_brands, settings, tmp_path, in_process):  # noqa: ANN201
    settings.MEDIA_ROOT = tmp_path
    # No rate limit here: the coverage phase sends an account write for each of the ~600
    # time zones, past the key's 600 a minute. The limit and its 429 have their own test
    # (tests/test_api_schema.py); the schema was read with it on, so 429 stays documented.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": None},
    }
    ids: dict[str, list[int]] = {k: [] for k in ("message", "prepared", "conversation")}
    for brand_key, account_key in (("brand_a", "a1"), ("brand_b", "b1")):
        brand, account = two_brands[brand_key], two_brands[account_key]
        follower = make_follower(account=account)
        follower.tags.add(Tag.objects.create(brand=brand, name=f"vip {brand.pk}"))
        conversation = make_conversation(follower=follower)
        text = Message.objects.create(
            brand=brand, conversation=conversation, account=account, direction="in",
            content="hello",
        )
        image = Message(brand=brand, conversation=conversation, account=account,
                        direction="in", msg_type="image")
        image.media.save("lobby.png", ContentFile(PNG), save=True)
        ids["message"] += [image.pk, text.pk]
        ids["conversation"] += [two_brands[f"conversation_{brand_key[-1]}"].pk, conversation.pk]
        for override in (None, account):
            ids["prepared"].append(PreparedResponse.objects.create(
                brand=brand, account=override, key="welcome", title="Welcome", language="en",
                body="Welcome to {account_name}",
            ).pk)
    SEEDED.clear()
    SEEDED.update(ids)
    SEEDED["account"] = [two_brands[k].pk for k in ("a1", "a2", "b1")]
    SEEDED["team"] = [two_brands[k].pk for k in ("team_a", "team_b")]
    SEEDED["member"] = [two_brands[k].pk for k in ("agent_a", "manager_a", "admin_b")]
    key, _raw = api_key_create(brand=two_brands["brand_a"], name="schemathesis")
    ApiKey.objects.filter(pk=key.pk).update(prefix=API_KEY[:10], key_hash=hash_token(API_KEY))
    yield
    SEEDED.clear()


# Serial (tests/conftest.py's phase without pytest-xdist): schemathesis names every
# operation's test alike, and xdist, which hands tests out by name, ran one of the 137.
@pytest.mark.serial
@pytest.mark.django_db
@schema.parametrize()
# The fixtures are made once per operation, not per example: every example runs in a
# savepoint that is rolled back, so each one meets the same data.
@hypothesis.settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_answers_as_its_schema_says(case, seeded):
    with transaction.atomic():
        case.call_and_validate()
        transaction.set_rollback(True)
