"""Shapes of what the console's websocket carries, and the group names."""

from typing import TypedDict


def brand_group(brand_id: int) -> str:
    return f"brand.{brand_id}"


def agent_group(membership_id: int) -> str:
    return f"agent.{membership_id}"


class HelloEvent(TypedDict):
    type: str
    brand_id: int
    membership_id: int
    role: str


class PresenceEvent(TypedDict):
    type: str
    membership_id: int
    presence: str
