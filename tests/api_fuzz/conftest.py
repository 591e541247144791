"""The fixtures of the schemathesis run (tests/api_fuzz/schema_run.py)."""

import pytest
from django.core.files.base import ContentFile
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from accounts.models import ApiKey, hash_token
from accounts.services import api_key_create
from followers.models import Tag
from messaging.models import Message, PreparedResponse
from tests.api_fuzz.schema_run import API_KEY, SEEDED
from tests.factories import make_conversation, make_follower
from tests.messaging.test_replies_sandbox import PNG


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
