"""The Celery app. Without REDIS_URL it runs tasks eagerly in the calling process."""

import os
from typing import Any

from celery import Celery, Task
from celery.exceptions import Retry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class PortalTask(Task):
    """The base of every task of the portal.

    Its one difference concerns in-process runs (``task_always_eager``: the demo, the
    tests). A task that asks to be retried (``autoretry_for``, ``self.retry``) runs again
    at once, here, until its ``max_retries``, which is what Celery itself does for eager
    runs whose errors do not propagate. Ours propagate, so that a bug fails the request
    that ran the task, and Celery would then raise the ``Retry`` at the caller instead.
    The countdown is not waited out: there is no broker to hold the task meanwhile, and
    the WeChat client has already backed off between its own attempts. So the tasks hold
    no eager-only branches, and eager runs go through the same retry decisions.
    """

    def apply(self, args: Any = None, kwargs: Any = None, *, retries: int | None = None,
              **options: Any) -> Any:
        try:
            return super().apply(args, kwargs, retries=retries, **options)
        except Retry as retry:
            if retry.sig is None:
                raise
            return retry.sig.apply(retries=(retries or 0) + 1)


app = Celery("portal", task_cls=PortalTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# What a task announces for the same worker runs at its end, in its process
# (messaging/task_batches.py).
from messaging.task_batches import connect_worker  # noqa: E402

connect_worker()


def _drop_unusable_connections(sender: Task | None = None, **_: Any) -> None:
    """Around each task of a worker: drop a database connection that is broken, was left
    in a transaction or is older than CONN_MAX_AGE, as Django does around a request.
    Celery's fix-up keeps it otherwise (``CELERY_DB_REUSE_MAX``); eager runs are the
    caller's own connection and are left alone."""
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


def _connect_connection_checks() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_drop_unusable_connections, weak=False,
                        dispatch_uid="portal-db-check-before")
    task_postrun.connect(_drop_unusable_connections, weak=False,
                         dispatch_uid="portal-db-check-after")


_connect_connection_checks()
