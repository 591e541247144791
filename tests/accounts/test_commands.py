import io

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from accounts.models import ApiKey, Brand, Membership, OfficialAccount, Team, User
from accounts.services import api_key_authenticate
from tests.factories import make_brand

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_seeds_a_user_per_role():
    call_command("seed_demo", stdout=io.StringIO())
    counts = (Brand.objects.count(), OfficialAccount.objects.count(), Team.objects.count(),
              Membership.objects.count(), User.objects.count())
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    again = (Brand.objects.count(), OfficialAccount.objects.count(), Team.objects.count(),
             Membership.objects.count(), User.objects.count())
    assert counts == again == (1, 5, 3, 4, 5)
    roles = set(Membership.objects.values_list("role", flat=True))
    assert roles == {"owner", "admin", "manager", "agent"}
    kinds = list(OfficialAccount.objects.values_list("kind", flat=True))
    assert kinds.count("service") == 4 and kinds.count("subscription") == 1
    assert OfficialAccount.objects.filter(is_flagship=True, kind="service").count() == 1
    assert "password:" in out.getvalue()


def test_create_api_key_prints_a_working_key_once():
    brand = make_brand()
    out = io.StringIO()
    call_command("create_api_key", brand.slug, "ERP", stdout=out)
    raw = out.getvalue().strip()
    assert api_key_authenticate(raw=raw).brand == brand
    assert ApiKey.objects.get(brand=brand).name == "ERP"


def test_create_api_key_for_an_unknown_brand_fails_clearly():
    with pytest.raises(CommandError, match="no brand"):
        call_command("create_api_key", "nope", "ERP", stdout=io.StringIO())


def test_password_reset_mails_a_link(client):
    brand = make_brand()
    user = Membership.objects.get(brand=brand).user
    response = client.post("/auth/password/reset/", {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "/auth/password/reset/key/" in mail.outbox[0].body


def test_the_demo_runs_the_beat_schedule_in_process(settings, monkeypatch):
    # The demo has no `celery beat`: without its own loop a reply waiting for its next
    # attempt would wait for ever.
    from django.utils.module_loading import import_string

    from routing.management.commands.run_demo import _beat

    settings.CELERY_BEAT_SCHEDULE = {
        "often": {"task": "messaging.tasks.message_send_sweep_task", "schedule": 0.01},
        "seldom": {"task": "messaging.tasks.conversations_wake_task", "schedule": 0.03},
    }
    ran: list[str] = []
    for name in ("messaging.tasks.message_send_sweep_task",
                 "messaging.tasks.conversations_wake_task"):
        monkeypatch.setattr(import_string(name), "delay",
                            lambda name=name: ran.append(name))
    _beat(rounds=5)
    assert ran.count("messaging.tasks.message_send_sweep_task") >= 3
    assert "messaging.tasks.conversations_wake_task" in ran
