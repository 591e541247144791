"""Background work of the CRM's segments part (registered through followers/tasks.py)."""

from __future__ import annotations
