"""Background work of the CRM's campaigns part (registered through followers/tasks.py)."""

from __future__ import annotations
