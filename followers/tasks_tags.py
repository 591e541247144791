"""Background work of the CRM's tags part (registered through followers/tasks.py)."""

from __future__ import annotations
