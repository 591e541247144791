"""Background work for the console: pushing messaging's facts to the screens."""

from celery import shared_task

from routing import realtime


@shared_task
def console_push_task(name: str, payload: dict) -> int:
    """Send one announced fact (`message.created`, …) to the screens allowed to see it.

    Re-reads the rows, so a late or repeated run sends the current state; a gone row is
    logged and skipped. Answers the number of members it went to."""
    return realtime.push(name, payload)
