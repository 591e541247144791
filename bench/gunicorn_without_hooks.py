"""Gunicorn settings for ``bench/ingest.py --without-hooks`` (a diagnostic, never deployed):
each worker drops messaging's hook subscribers once the app is loaded."""


def post_worker_init(worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    from messaging import hooks

    for subscribers in hooks._subscribers.values():
        subscribers.clear()
