"""The console page. It renders the frame and what the script needs to start (the member,
their accounts and teams, the API's addresses, the translated strings); the conversations
themselves come from messaging's REST API, and changes arrive over `/ws/console/`."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.scope import Scope, access
from accounts.selectors import account_list
from accounts.times import moment_settings
from accounts.views import member_required
from followers.models import Tag
from messaging.models import Conversation
from messaging.prepared import LANGUAGES
from messaging.selectors import box_teams, conversation_queryset
from routing.brand_settings import settings_for
from routing.selectors import conversation_profile
from routing.strings import console_strings

# Each language in its own name, as language pickers show them.
LANGUAGE_NAMES = {"en": "English", "zh-hans": "简体中文", "zh-hant": "繁體中文"}


@member_required
def console(request: HttpRequest, scope: Scope) -> HttpResponse:
    membership = scope.membership
    config = {
        "membership_id": membership.pk if membership else None,
        "role": scope.role,
        "display_name": (membership.display_name or membership.user.get_short_name())
        if membership else "",
        "presence": membership.presence if membership else "offline",
        "accounts": list(account_list(scope=scope).order_by("name").values("id", "name")),
        "teams": list(box_teams(scope=scope).values("id", "name")),
        "tags": list(
            Tag.objects.filter(brand_id=scope.brand_id).order_by("name").values("id", "name")
        ),
        "statuses": [{"id": s.value, "name": str(s.label)} for s in Conversation.Status],
        "languages": [{"id": code, "name": LANGUAGE_NAMES.get(code, code)} for code in LANGUAGES],
        "api": {
            "conversations": reverse("conversation-list"),
            "counts": reverse("conversation-counts"),
            "claim_next": reverse("conversation-routing-claim-next"),
            "transfer_targets": reverse("conversation-transfer-targets"),
            "transfers": reverse("transfer-list"),
            "prepared": reverse("prepared-response-search"),
            "profile": reverse("console_profile", args=[0]),
            "mentions": reverse("mention-list"),
            "mention_candidates": reverse("mention-candidates"),
        },
        "ws": "/ws/console/",
        # A response target is flagged "due in n min" this many minutes before it is due.
        "warn_before_minutes": settings_for(scope.brand_id).warn_before_minutes,
        "strings": console_strings(),
        # The viewer's zone and the patterns the pages format times with (accounts/times.py).
        "times": moment_settings(),
    }
    return render(request, "routing/console.html", {"console_config": config})


@require_GET
@member_required
def profile(request: HttpRequest, scope: Scope, pk: int) -> JsonResponse:
    conversation = access(
        conversation_queryset(scope=scope).select_related("follower", "customer"), pk
    )
    return JsonResponse(conversation_profile(scope=scope, conversation=conversation))
