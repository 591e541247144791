"""The demo's prepared responses and auto-replies (called by ``seed_demo``; idempotent)."""

from accounts.models import Brand, OfficialAccount
from messaging.models import AutoReply, PreparedResponse

# key, title, {language: body}
BRAND_LIBRARY = [
    ("greeting", "Greeting", {
        "en": "Hello, welcome to {account_name}! I'm {agent_name}, how can I help you today?",
        "zh-hans": "您好，欢迎来到{account_name}！我是{agent_name}，请问有什么可以帮您？",
        "zh-hant": "您好，歡迎來到{account_name}！我是{agent_name}，請問有什麼可以幫您？",
    }),
    ("hours", "Opening hours", {
        "en": "Our front desk at {account_name} answers messages {hours}, every day.",
        "zh-hans": "{account_name}前台每天 {hours} 回复消息。",
        "zh-hant": "{account_name}前台每天 {hours} 回覆訊息。",
    }),
    ("address", "Address", {
        "en": "{account_name} is at {address}. Call us on {phone}.",
        "zh-hans": "{account_name}地址：{address}。电话：{phone}。",
        "zh-hant": "{account_name}地址：{address}。電話：{phone}。",
    }),
    ("parking", "Parking", {
        "en": "Guests park free of charge at {account_name}; please show your room card.",
        "zh-hans": "{account_name}住店客人免费停车，请出示房卡。",
        "zh-hant": "{account_name}住店客人免費停車，請出示房卡。",
    }),
    ("breakfast", "Breakfast", {
        "en": "Breakfast is served 06:30–10:30 in the lobby restaurant of {account_name}.",
        "zh-hans": "早餐时间 06:30–10:30，在{account_name}大堂餐厅。",
        "zh-hant": "早餐時間 06:30–10:30，在{account_name}大堂餐廳。",
    }),
]
# The Bund hotel has valet parking instead (an account's own version of a brand key).
OVERRIDES = [
    ("wx1a2b3c4d5e6f7002", "parking", "Parking", {
        "en": "Valet parking at the Bund entrance: ¥50 an hour, free for overnight guests.",
        "zh-hans": "外滩入口提供代客泊车：每小时50元，住店客人免费。",
    }),
]
# kind, trigger, language, body (auto-replies send their text as it is)
AUTO_REPLIES = [
    (AutoReply.Kind.WELCOME, "", "",
     "欢迎关注 Lumen Hotels！回复 SC 简体中文、TC 繁體中文、EN for English。\n"
     "Welcome to Lumen Hotels! Reply EN for English, SC 简体中文, TC 繁體中文."),
    (AutoReply.Kind.KEYWORD, "TC", "", "您好！我們將以繁體中文為您服務。"),
    (AutoReply.Kind.KEYWORD, "SC", "", "您好！我们将以简体中文为您服务。"),
    (AutoReply.Kind.KEYWORD, "EN", "", "Hello! We will answer you in English."),
    (AutoReply.Kind.KEYWORD, "早餐", "", "早餐时间 06:30–10:30，在大堂餐厅。"),
    (AutoReply.Kind.CLICK, "MENU_HOURS", "",
     "Front desk messages are answered 09:00–21:00 / 前台 09:00–21:00 回复消息"),
]


def seed_prepared_responses(brand: Brand) -> int:
    """Create or refresh the demo library; returns how many prepared responses it holds."""
    rows = [(None, key, title, texts) for key, title, texts in BRAND_LIBRARY]
    for appid, key, title, texts in OVERRIDES:
        account = OfficialAccount.objects.filter(brand=brand, appid=appid).first()
        if account is not None:
            rows.append((account, key, title, texts))
    count = 0
    for account, key, title, texts in rows:
        for language, body in texts.items():
            PreparedResponse.objects.update_or_create(
                brand=brand, account=account, key=key, language=language,
                defaults={"title": title, "body": body},
            )
            count += 1
    for kind, trigger, language, body in AUTO_REPLIES:
        AutoReply.objects.update_or_create(
            brand=brand, account=None, kind=kind, trigger=trigger, language=language,
            defaults={"body": body, "is_active": True},
        )
    return count
