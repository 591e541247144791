"""tags models of the CRM (see followers/models.py)."""

__all__: list[str] = []
