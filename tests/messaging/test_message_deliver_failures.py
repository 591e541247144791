"""``message_deliver``'s failure branches against the sandbox: the final attempt after
transient trouble, refusals on our side, unexpected errors, and never a reply left in
`sending`. What is transient is the retry table's call (`wechat.client.retry`)."""

from __future__ import annotations

import logging

import pytest

from accounts.models import OfficialAccount
from messaging import services
from messaging.models import Message
from messaging.services import SEND_RETRY_DELAYS, SendOutcome, message_deliver
from messaging.tasks import message_send_task
from tests.messaging.ingest_support import HookRecorder
from tests.messaging.reply_support import CUSTOM_SEND, Wired, wired  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

TOKEN_PATH = "/cgi-bin/stable_token"
ATTEMPTS = len(SEND_RETRY_DELAYS) + 1
BUSY_REASON = (f"the reply was not sent after {ATTEMPTS} attempts: WeChat is busy right now; "
               "try again in a moment")


@pytest.fixture
def hooks():
    recorder = HookRecorder()
    yield recorder
    recorder.close()


def _queued(wired: Wired, capture, text: str = "Hello") -> Message:  # noqa: F811
    """A stored reply whose send task has not run."""
    with capture(execute=False):
        message = services.message_reply(scope=wired.scope, conversation=wired.conversation,
                                          text=text, by=wired.agent)
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED
    return message


def _deliver(capture, message: Message, *, final: bool = False) -> SendOutcome:
    """One attempt; with ``final``, the last the retry schedule allows. A retry scheduled
    by an earlier attempt is made due first."""
    made = ATTEMPTS - 1 if final else message.send_attempts
    Message.objects.filter(pk=message.pk).update(send_attempts=made, next_attempt_at=None)
    with capture(execute=True):
        outcome = message_deliver(message_id=message.pk)
    message.refresh_from_db()
    return outcome


def _fault(wired: Wired, kind: str, path: str = CUSTOM_SEND, count: int | None = None) -> None:  # noqa: F811
    spec = {"kind": kind, "path": path, "appid": wired.appid}
    if count is not None:
        spec["count"] = count
    wired.sandbox.control("POST", "/faults", spec)


def _statuses(hooks: HookRecorder) -> list[tuple[str, int | None, str]]:
    return [(p["status"], p["errcode"], p["error_reason"])
            for name, p in hooks.seen if name == "message.status"]


def test_a_busy_answer_puts_the_reply_back_and_the_final_attempt_fails_it_with_the_reason(
    wired: Wired, django_capture_on_commit_callbacks, hooks: HookRecorder  # noqa: F811
) -> None:
    message = _queued(wired, django_capture_on_commit_callbacks)
    _fault(wired, "busy")  # every send, for as long as the test runs

    assert _deliver(django_capture_on_commit_callbacks, message) == SendOutcome.RETRY
    assert message.status == Message.Status.QUEUED and message.attempted_at is not None
    assert message.send_attempts == 1 and message.next_attempt_at > message.attempted_at
    assert _statuses(hooks) == []  # nothing to tell the console yet

    outcome = _deliver(django_capture_on_commit_callbacks, message, final=True)
    assert outcome == SendOutcome.FAILED
    assert (message.status, message.errcode, message.error_reason) == (
        "failed", -1, BUSY_REASON)
    assert message.next_attempt_at is None and message.retryable
    assert _statuses(hooks) == [("failed", -1, BUSY_REASON)]
    assert wired.inbox() == []


def test_the_send_task_answers_retry_until_the_schedule_is_spent_then_fails_the_reply(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    message = _queued(wired, django_capture_on_commit_callbacks)
    _fault(wired, "busy")

    outcomes = []
    for _attempt in range(ATTEMPTS):
        # Each retry's time has come (the send sweep would queue it now).
        Message.objects.filter(pk=message.pk).update(next_attempt_at=None)
        outcomes.append(message_send_task.delay(message.pk).get())
    assert outcomes == ["retry"] * (ATTEMPTS - 1) + ["failed"]
    message.refresh_from_db()
    assert (message.status, message.errcode, message.error_reason) == (
        "failed", -1, BUSY_REASON)
    # The client's own 3 attempts, on each of the task's.
    assert len(wired.send_calls()) == 3 * ATTEMPTS
    assert wired.inbox() == []


def test_a_token_rejected_even_after_a_refresh_is_tried_again_later_not_failed(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    message = _queued(wired, django_capture_on_commit_callbacks)
    # The send's token is refused, and refused again after the client renewed it.
    _fault(wired, "token_expired", count=2)

    assert _deliver(django_capture_on_commit_callbacks, message) == SendOutcome.RETRY
    assert message.status == Message.Status.QUEUED and message.errcode is None
    assert wired.inbox() == []
    assert _deliver(django_capture_on_commit_callbacks, message) == SendOutcome.SENT
    assert wired.texts() == ["Hello"]


def test_a_token_fetch_that_fails_is_not_taken_for_a_send_that_may_have_arrived(
    wired: Wired, django_capture_on_commit_callbacks  # noqa: F811
) -> None:
    message = _queued(wired, django_capture_on_commit_callbacks)
    # The token endpoint answers 500 to every attempt: the kf send is never made.
    _fault(wired, "http_500", path=TOKEN_PATH)

    assert _deliver(django_capture_on_commit_callbacks, message) == SendOutcome.RETRY
    assert message.status == Message.Status.QUEUED

    assert _deliver(django_capture_on_commit_callbacks, message, final=True) == "failed"
    assert message.error_reason == (
        f"the reply was not sent after {ATTEMPTS} attempts: WeChat could not be reached or "
        "answered with an error page; try again later"
    )
    assert message.error_reason != services.MAYBE_DELIVERED
    assert wired.send_calls() == []


def test_a_text_the_client_refuses_fails_at_once_without_calling_wechat(
    wired: Wired, django_capture_on_commit_callbacks, hooks: HookRecorder  # noqa: F811
) -> None:
    message = _queued(wired, django_capture_on_commit_callbacks)
    # Stored before the client's own check existed, say: nothing for WeChat to send.
    Message.objects.filter(pk=message.pk).update(content="")

    assert _deliver(django_capture_on_commit_callbacks, message) == SendOutcome.FAILED
    assert (message.status, message.errcode) == ("failed", None)
    assert message.error_reason == "text content must not be empty"
    assert _statuses(hooks) == [("failed", None, "text content must not be empty")]
    assert wired.send_calls() == []


def test_an_unexpected_error_fails_the_reply_plainly_and_is_logged_as_a_crash(
    wired: Wired, django_capture_on_commit_callbacks, caplog  # noqa: F811
) -> None:
    message = _queued(wired, django_capture_on_commit_callbacks)
    # Connected through a third-party platform the portal has none of: a misconfiguration.
    OfficialAccount.objects.filter(pk=wired.account.pk).update(
        connection=OfficialAccount.Connection.PLATFORM)

    with caplog.at_level(logging.ERROR, logger="messaging.services"):
        outcome = _deliver(django_capture_on_commit_callbacks, message)
    assert outcome == SendOutcome.FAILED
    assert (message.status, message.error_reason) == ("failed", "the reply could not be sent")
    assert "reply send crashed" in caplog.text
    assert wired.send_calls() == []


# (what goes wrong, final attempt?, the status the reply is left in)
BRANCHES = [
    ("nothing", False, "sent"),
    ("busy", False, "queued"),
    ("busy", True, "failed"),
    ("rate_limit", False, "queued"),
    ("send may have arrived", False, "failed"),
    ("token endpoint down", False, "queued"),
    ("follower left", False, "failed"),
    ("empty text", False, "failed"),
    ("misconfigured", False, "failed"),
]


@pytest.mark.parametrize(("trouble", "final", "left"), BRANCHES,
                         ids=[f"{t}{' (final)' if f else ''}" for t, f, _ in BRANCHES])
def test_no_branch_leaves_a_reply_sending(
    wired: Wired, django_capture_on_commit_callbacks, trouble: str, final: bool,  # noqa: F811
    left: str,
) -> None:
    message = _queued(wired, django_capture_on_commit_callbacks)
    if trouble in ("busy", "rate_limit"):
        _fault(wired, trouble)
    elif trouble == "send may have arrived":
        _fault(wired, "http_500", count=1)
    elif trouble == "token endpoint down":
        _fault(wired, "http_500", path=TOKEN_PATH)
    elif trouble == "follower left":
        wired.unfollow_on_the_platform()
    elif trouble == "empty text":
        Message.objects.filter(pk=message.pk).update(content="")
    elif trouble == "misconfigured":
        OfficialAccount.objects.filter(pk=wired.account.pk).update(
            connection=OfficialAccount.Connection.PLATFORM)

    _deliver(django_capture_on_commit_callbacks, message, final=final)
    assert message.status == left
    assert message.status != Message.Status.SENDING
    if left == "failed":
        assert message.error_reason  # a plain reason, shown in the console


def test_a_token_that_cannot_be_had_in_time_is_tried_again_later_not_failed(
    wired: Wired, django_capture_on_commit_callbacks, monkeypatch  # noqa: F811
) -> None:
    # Another worker is renewing the token and did not finish: nothing was sent.
    from accounts.tokens import TokenUnavailable

    message = _queued(wired, django_capture_on_commit_callbacks)

    def no_token(account: OfficialAccount) -> None:
        raise TokenUnavailable(f"timed out waiting for the token of {account.appid}")

    monkeypatch.setattr(services, "client_for", no_token)
    assert _deliver(django_capture_on_commit_callbacks, message) == SendOutcome.RETRY
    assert message.status == Message.Status.QUEUED
    monkeypatch.undo()
    assert _deliver(django_capture_on_commit_callbacks, message) == SendOutcome.SENT
    assert wired.texts() == ["Hello"]
