from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class InviteOnlyAccountAdapter(DefaultAccountAdapter):
    """Nobody signs up on their own: members join through an invitation."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False
