"""The websocket server stops on SIGTERM within its grace period, sockets open, also when
Redis has stalled under it.

uvicorn runs as the Procfile's ``ws`` line says, in a subprocess on the test database and a
Redis of the test's own. On SIGTERM it closes every socket at once; then it waits for the
consumers' clean-up, which talks to Redis (group discards, the presence count), one
socket after another for the cache's part. With Redis stalled each waits out a socket
timeout, so without a bound on that wait the server outlived its sockets by N x 10 s.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import websockets

from tests.messaging.worker_support import worker_database_url
from tests.routing.redis_support import PrivateRedis, private_redis  # noqa: F401 - fixture
from tests.routing.socket_support import session_cookie

# serial: processes (or a server) of its own on the test database, racing on a deadline.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.serial]

ROOT = Path(__file__).resolve().parents[2]
# What a process manager gives a process between SIGTERM and SIGKILL (Docker's default).
GRACE_PERIOD = 10.0
SOCKETS = 3


def _ws_command() -> str:
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines()
                if line.startswith("ws:"))
    return line.split(":", 1)[1].strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_ws(port: int, redis_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "BIND_HOST": "127.0.0.1",
        "WS_PORT": str(port),
    }
    process = subprocess.Popen(["bash", "-c", f"exec {_ws_command()}"], cwd=ROOT, env=env,  # noqa: S603, S607
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None:
                pytest.fail("the ws server exited at start")
            time.sleep(0.05)
    process.kill()
    pytest.fail("the ws server did not start")


async def _open(port: int, cookie: str) -> websockets.ClientConnection:
    socket_ = await websockets.connect(
        f"ws://127.0.0.1:{port}/ws/console/",
        additional_headers={"Cookie": f"sessionid={cookie}",
                            "Origin": f"http://127.0.0.1:{port}"})
    hello = await asyncio.wait_for(socket_.recv(), 10)
    assert '"hello"' in hello
    return socket_


async def _closed(socket_: websockets.ClientConnection) -> int | None:
    """Read until the server closes the socket; answers the close code."""
    try:
        while True:
            await socket_.recv()
    except websockets.ConnectionClosed:
        return socket_.close_code


@pytest.mark.parametrize("redis_state", ["healthy", "stalled"])
def test_sigterm_stops_the_ws_server_within_its_grace_period_closing_every_socket(
    two_brands, private_redis: PrivateRedis, redis_state: str  # noqa: F811
) -> None:
    grace = re.search(r"--timeout-graceful-shutdown (\d+)", _ws_command())
    assert grace is not None and float(grace.group(1)) < GRACE_PERIOD
    cookie = session_cookie(two_brands["manager_a"].user)
    port = _free_port()
    server = _start_ws(port, private_redis.url)
    stalled = False
    try:
        async def drill() -> tuple[float, list[int | None]]:
            sockets = [await _open(port, cookie) for _ in range(SOCKETS)]
            nonlocal stalled
            if redis_state == "stalled":
                private_redis.process.send_signal(signal.SIGSTOP)
                stalled = True
            started = time.monotonic()
            server.send_signal(signal.SIGTERM)
            codes = await asyncio.wait_for(
                asyncio.gather(*(_closed(s) for s in sockets)), GRACE_PERIOD)
            while server.poll() is None and time.monotonic() - started < GRACE_PERIOD + 20:
                await asyncio.sleep(0.05)
            return time.monotonic() - started, codes

        took, codes = asyncio.run(drill())
        # Every socket was closed by the server as it went down (1012: service restart).
        assert codes == [1012] * SOCKETS
        assert server.poll() is not None, "still running"
        assert took < GRACE_PERIOD, f"exited {took:.1f} s after SIGTERM"
    finally:
        if stalled:
            private_redis.process.send_signal(signal.SIGCONT)
        if server.poll() is None:
            server.kill()
            server.wait(10)
