"""Background work of the CRM's sync part (registered through followers/tasks.py)."""

from __future__ import annotations
