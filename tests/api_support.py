"""Helpers for the API tests that walk every operation of the schema."""

from functools import cache

from drf_spectacular.generators import SchemaGenerator

from accounts.models import (
    BrandClosure,
    BusinessHours,
    Invitation,
    Membership,
    OfficialAccount,
    Team,
)
from accounts.services import api_key_create
from followers.models import (
    Campaign,
    Customer,
    CustomerAttribute,
    QRCode,
    Segment,
    Tag,
    TagRule,
)
from messaging.models import Conversation, Mention, Message, PreparedResponse
from routing.models import RoutingRule, RoutingSettings, TeamTargets, Transfer

MODELS = (OfficialAccount, Membership, Team, Invitation, Conversation, Message, PreparedResponse,
          RoutingRule, RoutingSettings, TeamTargets, BusinessHours, BrandClosure, Transfer,
          Mention, Customer, CustomerAttribute, Tag, TagRule, Campaign, QRCode, Segment)
PATH_OBJECTS = {
    "accounts": "account", "members": "member", "teams": "team",
    "conversations": "conversation", "prepared-responses": "prepared",
    "routing/rules": "rule", "routing/targets": "team",
    "business-hours": "hours", "business-hours/closures": "closure",
    "transfers": "transfer", "mentions": "mention",
    "customers": "customer", "customer-attributes": "attribute", "tags": "tag",
    "tag-rules": "tag_rule", "campaigns": "campaign", "qrcodes": "qrcode",
    "segments": "segment",
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
    rule = RoutingRule.objects.create(brand=brand, name="api tests", action="central")
    hours = BusinessHours.objects.create(brand=brand, account=two_brands["a1"], week=[])
    closure = BrandClosure.objects.create(brand=brand, name="api tests",
                                          starts_on="2026-01-01", ends_on="2026-01-01")
    transfer = Transfer.objects.create(brand=brand, conversation=conversation, kind="team",
                                       to_team=two_brands["team_a"], note="api tests")
    note = Message.objects.create(brand=brand, conversation=conversation,
                                  account=conversation.channel_account, direction="note",
                                  content="@agent")
    mention = Mention.objects.create(brand=brand, conversation=conversation, note=note,
                                     member=two_brands["agent_a"])
    _key, raw = api_key_create(brand=brand, name="api tests")
    customer = conversation.customer or Customer.objects.create(brand=brand)
    attribute = CustomerAttribute.objects.create(brand=brand, key="size", label="Size")
    tag = Tag.objects.create(brand=brand, name="api tests")
    tag_rule = TagRule.objects.create(brand=brand, name="api tests", pattern="hello")
    campaign = Campaign.objects.create(brand=brand, name="api tests")
    qrcode = QRCode.objects.create(brand=brand, account=two_brands["a1"], campaign=campaign,
                                   kind="permanent", scene="api-tests",
                                   url="http://weixin.qq.com/q/api-tests")
    segment = Segment.objects.create(brand=brand, name="api tests")
    return {
        "customer": customer.pk, "attribute": attribute.pk, "tag": tag.pk,
        "tag_rule": tag_rule.pk, "campaign": campaign.pk, "qrcode": qrcode.pk,
        "segment": segment.pk,
        "transfer": transfer.pk, "mention": mention.pk,
        "account": two_brands["a1"].pk, "member": two_brands["agent_a"].pk,
        "team": two_brands["team_a"].pk, "conversation": conversation.pk,
        "prepared": prepared.pk, "message": message.pk, "rule": rule.pk,
        "hours": hours.pk, "closure": closure.pk,
        "auth": {"HTTP_AUTHORIZATION": f"Bearer {raw}"},
    }


def url(path: str, ids: dict) -> str:
    parts = path.split("/")
    kind = PATH_OBJECTS.get("/".join(parts[3:5])) or PATH_OBJECTS.get(parts[3])
    return path.replace("{id}", str(ids.get(kind, 0))).replace(
        "{message_id}", str(ids["message"])
    )


def snapshot() -> dict:
    """Every row of the models the API writes, to show that nothing changed."""
    return {m.__name__: list(m.objects.order_by("pk").values()) for m in MODELS}
