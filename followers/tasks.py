"""The CRM's background work; each part keeps its tasks in a module of its own, imported
here so that Celery's autodiscovery (one ``tasks`` module per app) registers them."""

from followers import tasks_campaigns, tasks_segments, tasks_sync, tasks_tags  # noqa: F401
