"""WeChat Official Account API client (no Django; everything is passed in)."""

from wechat.client.component import (
    ComponentClient,
    InMemoryRefreshTokenStore,
    InMemoryTicketStore,
    RefreshTokenStore,
)
from wechat.client.mass import MassSendResult
from wechat.client.official import WeChatClient
from wechat.client.retry import (
    DEFAULT_POLICY,
    NO_RETRY,
    RETRY_TABLE,
    Action,
    Outcome,
    RetryPolicy,
    Safety,
    classify,
    is_transient,
)
from wechat.client.transport import Transport, make_session

__all__ = [
    "DEFAULT_POLICY",
    "NO_RETRY",
    "RETRY_TABLE",
    "Action",
    "ComponentClient",
    "InMemoryRefreshTokenStore",
    "InMemoryTicketStore",
    "MassSendResult",
    "Outcome",
    "RefreshTokenStore",
    "RetryPolicy",
    "Safety",
    "Transport",
    "WeChatClient",
    "classify",
    "is_transient",
    "make_session",
]
