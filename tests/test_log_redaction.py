"""No token reaches a log line: invitation and password-reset links, API keys, and the
platform's access tokens and secrets in URLs are redacted from every line our handler
writes (text or JSON, message, extras or traceback) and from the servers' access logs."""

import io
import logging
import re
from collections.abc import Iterator

import pytest
from django.core import mail
from uvicorn.logging import AccessFormatter

from accounts import services
from accounts.models import new_raw_token
from config.redact import RedactingFormatter, RedactingJsonFormatter, redact
from tests.factories import make_brand, make_member, owner_scope

pytestmark = pytest.mark.django_db


def _our_handler() -> logging.Handler:
    handlers = [h for h in logging.getLogger().handlers
                if isinstance(h.formatter, RedactingFormatter)]
    assert len(handlers) == 1, "LOGGING's console handler redacts"
    return handlers[0]


@pytest.fixture(params=["text", "json"])
def written(request) -> Iterator[io.StringIO]:  # noqa: ANN001
    """What our handler writes while the test runs, in each of the two formats."""
    handler = _our_handler()
    formatter = handler.formatter
    if request.param == "json":
        handler.setFormatter(RedactingJsonFormatter())
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)
        handler.setFormatter(formatter)


def test_a_404_on_an_invitation_link_is_logged_without_its_token(client, written):
    raw = new_raw_token("inv")
    assert client.get(f"/invite/{raw}/").status_code == 404

    lines = written.getvalue()
    assert "Not Found: /invite/[redacted]/" in lines
    assert raw not in lines and raw[4:] not in lines
    # Django's own console handler (DEBUG on) would have printed the line again, raw.
    assert logging.getLogger("django").handlers == []
    assert logging.getLogger("django.request").handlers == []


def test_an_invitation_is_mailed_with_its_link_and_logged_without_it(
    written, django_capture_on_commit_callbacks
):
    brand = make_brand()
    owner = make_member(brand=brand, role="admin").user
    with django_capture_on_commit_callbacks(execute=True):
        _invitation, raw = services.invitation_create(
            scope=owner_scope(brand), email="new@example.com", role="agent", account_ids=[],
            by=owner,
        )

    assert raw in mail.outbox[0].body  # the link goes where it belongs
    lines = written.getvalue()
    assert "invitation sent" in lines
    assert raw not in lines


def test_tokens_and_secrets_in_platform_urls_are_redacted_from_messages_and_tracebacks(
    written,
):
    logger = logging.getLogger("accounts.tokens")
    failure = ("HTTPConnectionPool(host='api.weixin.qq.com', port=443): Max retries exceeded "
               "with url: /cgi-bin/token?grant_type=client_credential&appid=wx1a2b"
               "&secret=S3CRET-app-secret")
    logger.warning("token fetch for %s failed: %s", "wx1a2b", failure)
    try:
        raise RuntimeError("POST /cgi-bin/message/custom/send?access_token=T0KEN-xyz failed")
    except RuntimeError:
        logger.exception("send failed", extra={"body": '{"access_token": "T0KEN-xyz"}'})

    lines = written.getvalue()
    assert "S3CRET-app-secret" not in lines and "T0KEN-xyz" not in lines
    assert "secret=[redacted]" in lines and "access_token=[redacted]" in lines
    # What is not a secret stays readable.
    assert "token fetch for wx1a2b failed" in lines and "grant_type=client_credential" in lines


def test_a_password_reset_link_in_the_servers_access_logs_is_redacted(client):
    user = make_member(brand=make_brand()).user
    client.post("/auth/password/reset/", {"email": user.email})
    link = re.search(r"https?://\S+/password/reset/key/\S+", mail.outbox[0].body).group(0)
    path = "/" + link.split("/", 3)[3]
    key = path.split("/password/reset/key/")[1].strip("/")

    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    # uvicorn's formatter unpacks the arguments: redaction must keep their shape.
    as_uvicorn = logging.StreamHandler(stream)
    as_uvicorn.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" '
                                            "%(status_code)s", use_colors=False))
    gunicorn, uvicorn = logging.getLogger("gunicorn.access"), logging.getLogger("uvicorn.access")
    gunicorn.addHandler(capture)
    uvicorn.addHandler(as_uvicorn)
    try:
        # As gunicorn and uvicorn write their access lines.
        gunicorn.info('%(h)s "%(r)s" %(s)s', {"h": "10.0.0.1", "r": f"GET {path} HTTP/1.1",
                                              "s": "302"})
        uvicorn.info('%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET", path, "1.1", 302)
    finally:
        gunicorn.removeHandler(capture)
        uvicorn.removeHandler(as_uvicorn)

    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].endswith(" 302 Found")
    assert all("/password/reset/key/[redacted]/" in line for line in lines)
    assert key not in stream.getvalue()


def test_ordinary_lines_are_left_alone():
    for line in ("brand created", "wechat /cgi-bin/message/custom/send: 45047, retry 1 in 0.50s",
                 "errcode=40001 appid=wx1a2b3c4d5e6f7001", "console socket refused: anonymous",
                 "api key rejected bp_abc1234"):
        assert redact(line) == line
