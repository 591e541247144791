"""Closing a brand's console hub never waits without end for its tasks: one that will
not stop is logged, and the close goes on (the last socket's disconnect with it)."""

import asyncio
import logging

from routing.hub import BrandHub


class _Layer:
    def __init__(self) -> None:
        self.discarded: list[tuple[str, str]] = []

    async def group_discard(self, group: str, channel: str) -> None:
        self.discarded.append((group, channel))


async def test_a_task_that_will_not_stop_is_logged_and_the_close_goes_on(caplog,
                                                                       monkeypatch):
    monkeypatch.setattr(BrandHub, "STOP_SECONDS", 0.2)
    layer, done = _Layer(), asyncio.Event()

    async def stubborn() -> None:  # swallows its cancellation, as a stuck client may
        while not done.is_set():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                continue

    async def willing() -> None:
        await asyncio.sleep(10)

    hub = BrandHub(layer, brand_id=7)
    hub.channel = "specific.hub!1"
    hub.tasks = [asyncio.create_task(willing()), asyncio.create_task(stubborn())]
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="routing.hub"):
        await asyncio.wait_for(hub.stop(), 5)
    assert hub.tasks[0].cancelled()
    assert not hub.tasks[1].done()
    assert [r.getMessage() for r in caplog.records] == [
        "console hub tasks still running after it closed"]
    assert caplog.records[0].brand_id == 7 and caplog.records[0].tasks == 1
    assert layer.discarded == [(hub.group, "specific.hub!1")]
    done.set()
    hub.tasks[1].cancel()
    await asyncio.wait([hub.tasks[1]], timeout=1)
