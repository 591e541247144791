from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        from routing import realtime, subscribers

        # Messaging and accounts announce after commit; routing (higher up) subscribes here.
        realtime.subscribe()
        subscribers.subscribe()
