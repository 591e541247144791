"""A Redis server of the test's own, for drills that stop and restart it (never the
machine's shared one), and the console's channel layer pointed at it."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

LAYERS = {
    "redis": "routing.layers.ConsoleRedisChannelLayer",
    "pubsub": "routing.layers.ConsolePubSubChannelLayer",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",  # noqa: S607
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("the test's redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port, empty (no persistence)."""
        self.stop()
        self.start()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()


def point_layer_at(settings, redis: PrivateRedis, layer: str = "redis",  # noqa: ANN001
                   **config: object) -> None:
    """The console's channel layer (as config/settings.py builds it) on ``redis``."""
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": LAYERS[layer],
        "CONFIG": {"hosts": [{"address": redis.url, "socket_timeout": 15}],
                   "capacity": 1000, "expiry": 30, **config},
    }}
