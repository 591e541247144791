"""Helpers for the API tests that walk every operation of the schema."""

from functools import cache

from drf_spectacular.generators import SchemaGenerator

from accounts.models import Invitation, Membership, OfficialAccount, Team
from accounts.services import api_key_create
from messaging.models import Conversation, Message, PreparedResponse

MODELS = (OfficialAccount, Membership, Team, Invitation, Conversation, Message, PreparedResponse)
PATH_OBJECTS = {
    "accounts": "account", "members": "member", "teams": "team",
    "conversations": "conversation", "prepared-responses": "prepared",
}


@cache
def api_schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations() -> list[tuple[str, str]]:
    """Every (METHOD, path) the schema lists."""
    return [
        (method.upper(), path)
        for path, item in api_schema()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


def operation(method: str, path: str) -> dict:
    return api_schema()["paths"][path][method.lower()]


def request_schema(method: str, path: str, media_type: str = "application/json") -> dict | None:
    """The operation's request body schema (its component, resolved), or None."""
    body = operation(method, path).get("requestBody")
    if not body or media_type not in body["content"]:
        return None
    schema = body["content"][media_type]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    return api_schema()["components"]["schemas"][name]


def write_operations() -> list[tuple[str, str]]:
    return [(m, p) for m, p in operations() if request_schema(m, p) is not None]


def seed(two_brands: dict) -> dict:
    """Ids of brand A's objects for every path parameter, and an API key's header."""
    brand, conversation = two_brands["brand_a"], two_brands["conversation_a"]
    message = Message.objects.create(
        brand=brand, conversation=conversation, account=conversation.channel_account,
        direction="in", content="hello",
    )
    prepared = PreparedResponse.objects.create(
        brand=brand, key="hello", title="Hello", language="en", body="Hi there",
    )
    _key, raw = api_key_create(brand=brand, name="api tests")
    return {
        "account": two_brands["a1"].pk, "member": two_brands["agent_a"].pk,
        "team": two_brands["team_a"].pk, "conversation": conversation.pk,
        "prepared": prepared.pk, "message": message.pk,
        "auth": {"HTTP_AUTHORIZATION": f"Bearer {raw}"},
    }


def url(path: str, ids: dict) -> str:
    kind = PATH_OBJECTS.get(path.split("/")[3])
    return path.replace("{id}", str(ids.get(kind, 0))).replace(
        "{message_id}", str(ids["message"])
    )


def snapshot() -> dict:
    """Every row of the models the API writes, to show that nothing changed."""
    return {m.__name__: list(m.objects.order_by("pk").values()) for m in MODELS}
