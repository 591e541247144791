from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from messaging import subscribers

        # Followers (below) announce; messaging subscribes here.
        subscribers.subscribe()
