"""Signing a test's member in on the console websocket, and cleaning up after it."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore


@pytest.fixture
async def close_thread_connections():
    # sync_to_async runs the ORM in a worker thread whose connection would otherwise
    # outlive the test database.
    yield
    from django.db import connections

    await sync_to_async(connections.close_all)()


def session_cookie(user) -> str:  # noqa: ANN001
    """A saved session signed in as ``user``: the value of the ``sessionid`` cookie."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session.session_key
