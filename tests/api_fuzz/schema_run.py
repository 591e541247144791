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

The operations are dealt into PARTS parts (`part`), one test module each
(test_operations_<n>.py), so that pytest-xdist, which hands a worker whole files, spreads
the run over its workers in the suite's parallel phase.
"""

import zlib
from collections.abc import Callable

import hypothesis
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db import transaction
from hypothesis import HealthCheck
from hypothesis.internal.conjecture import providers as _providers

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


PARTS = 3


def part(n: int) -> schemathesis.BaseSchema:
    """The operations of part ``n`` (of PARTS): each operation is in exactly one, by a
    checksum of its label ("GET /api/v1/accounts/"), so a new one finds its part alone."""
    # An exclusion: inclusions add to the one the config's per-operation settings make.
    return schema.exclude(
        lambda ctx: zlib.crc32(ctx.operation.label.encode()) % PARTS != n)


def operations_test(n: int) -> Callable:
    """The test of part ``n``'s operations, for its module to collect."""

    # The fixtures (tests/api_fuzz/conftest.py) are made once per operation, not per
    # example: every example runs in a savepoint that is rolled back, so each one meets
    # the same data.
    @pytest.mark.django_db
    @part(n).parametrize()
    @hypothesis.settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
    def test_the_api_answers_as_its_schema_says(case, seeded):  # noqa: ANN001, ARG001
        with transaction.atomic():
            case.call_and_validate()
            transaction.set_rollback(True)

    return test_the_api_answers_as_its_schema_says
