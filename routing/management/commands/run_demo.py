"""Serve the demo in one process: the WeChat sandbox on loopback and the portal (ASGI)."""

import contextlib
import logging
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import requests
import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import OfficialAccount, PlatformApp
from followers.demo import DEMO_OPENID_PREFIX, platform_followers_exist
from followers.models import Follower

logger = logging.getLogger(__name__)

# Accounts only the sandbox knows: a demo admin connects them by authorization.
SANDBOX_ONLY_ACCOUNTS = [
    {"appid": "wx1a2b3c4d5e6f7101", "name": "Lumen Chengdu Taikoo Li",
     "original_id": "gh_lumencd0101", "kind": "service", "verified": True},
    {"appid": "wx1a2b3c4d5e6f7102", "name": "Lumen Travel Notes",
     "original_id": "gh_lumentn0102", "kind": "subscription", "verified": False},
]
# WeChat pushes a component_verify_ticket every 10 minutes.
TICKET_INTERVAL = 600.0
# The sandbox keeps its followers here so they outlive a restart, as the portal's do.
SANDBOX_STATE = Path(settings.BASE_DIR) / ".demo" / "sandbox-state.json"
# Accounts the first run's simulated followers write to.
TRAFFIC_ACCOUNTS = ["wx1a2b3c4d5e6f7001", "wx1a2b3c4d5e6f7002", "wx1a2b3c4d5e6f7003"]


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


class Command(BaseCommand):
    help = "Run the WeChat sandbox and the portal together (the demo's one process)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: object, host: str, port: int, **options: object) -> None:
        if not settings.DEBUG:
            # Production settings would redirect the demo's plain HTTP to HTTPS and refuse
            # its development keys; production runs the Procfile's processes instead.
            raise CommandError(
                "run_demo needs DEBUG=1 (`make demo` sets it); DEBUG is off by default"
            )
        sandbox_url = urlparse(settings.WECHAT_API_BASE)
        sb_host, sb_port = sandbox_url.hostname or "127.0.0.1", sandbox_url.port or 8701
        if sb_host in ("127.0.0.1", "localhost") and _port_free(sb_host, sb_port):
            from wechat.sandbox.server import SandboxServer

            SANDBOX_STATE.parent.mkdir(exist_ok=True)
            sandbox = SandboxServer(sb_host, sb_port, auto_jobs=True,
                                    state_file=str(SANDBOX_STATE))
            if SANDBOX_STATE.exists():
                sandbox.load(str(SANDBOX_STATE))
            sandbox.start()
            self.stdout.write(f"WeChat sandbox on http://{sb_host}:{sb_port}/")
            self._register_accounts(f"http://{sb_host}:{sb_port}", f"http://{host}:{port}")
            self._register_followers(f"http://{sb_host}:{sb_port}")
            self._register_platform(f"http://{sb_host}:{sb_port}", host, port)
            # The seeded CRM's followers are the portal's only; the platform's come here.
            if not platform_followers_exist():
                threading.Thread(
                    target=_first_traffic, args=(f"http://{sb_host}:{sb_port}", host, port),
                    name="demo-traffic", daemon=True,
                ).start()
                self.stdout.write("Simulated followers will write in once the portal listens.")
        threading.Thread(target=_beat, name="demo-beat", daemon=True).start()
        self.stdout.write(f"Brand portal on http://{host}:{port}/  (Ctrl+C to stop)")
        uvicorn.run("config.asgi:application", host=host, port=port, log_level="info")

    def _register_accounts(self, sandbox: str, portal: str) -> None:
        """Mirror the seeded accounts into the sandbox so the platform knows them."""
        known = {a["appid"] for a in requests.get(f"{sandbox}/_sandbox/accounts", timeout=5)
                 .json().get("accounts", [])}
        for account in OfficialAccount.objects.filter(connection="direct").exclude(
            appid__in=known
        ):
            body = {
                "appid": account.appid,
                "secret": account.app_secret,
                "original_id": account.original_id,
                "name": account.name,
                "kind": account.kind,
                "verified": account.verified,
                "token": account.token,
                "encoding_aes_key": account.encoding_aes_key,
                "message_mode": account.message_mode,
                "callback_url": f"{portal}/wechat/{account.appid}/callback/",
            }
            response = requests.post(f"{sandbox}/_sandbox/accounts", json=body, timeout=5)
            if response.status_code >= 400:
                self.stderr.write(f"sandbox refused {account.appid}: {response.text[:200]}")

    def _register_followers(self, sandbox: str) -> None:
        """The seeded followers who still follow exist on the platform too, so a sync of
        their account lists them instead of marking them gone. Those the sandbox knows
        already (its saved state) stay as they are there."""
        for account in OfficialAccount.objects.filter(connection="direct"):
            followers = [
                {"openid": f.openid, "language": f.language or "zh_CN",
                 "subscribe_scene": f.subscribe_scene or "ADD_SCENE_SEARCH",
                 "subscribe_time": int(f.subscribed_at.timestamp()) if f.subscribed_at else 0}
                for f in Follower.objects.filter(account=account, subscribed=True,
                                                 openid__startswith=DEMO_OPENID_PREFIX)
            ]
            if not followers:
                continue
            response = requests.post(f"{sandbox}/_sandbox/accounts/{account.appid}/"
                                     "known_followers", json={"followers": followers}, timeout=5)
            if response.status_code >= 400:
                self.stderr.write(f"sandbox refused {account.appid}'s followers: "
                                  f"{response.text[:200]}")

    def _register_platform(self, sandbox: str, host: str, port: int) -> None:
        """Register the portal's platform and push tickets once the portal listens."""
        platform = PlatformApp.objects.filter(is_active=True).order_by("pk").first()
        if platform is None:
            return
        portal = f"http://{host}:{port}"
        for spec in SANDBOX_ONLY_ACCOUNTS:
            requests.post(f"{sandbox}/_sandbox/accounts", json=spec, timeout=5)
        body = {
            "component_appid": platform.component_appid,
            "component_appsecret": platform.component_appsecret,
            "token": platform.token,
            "encoding_aes_key": platform.encoding_aes_key,
            "auth_event_url": f"{portal}/wechat/platform/",
            "message_url": f"{portal}/wechat/$APPID$/callback/",
        }
        response = requests.post(f"{sandbox}/_sandbox/components", json=body, timeout=5)
        if response.status_code >= 400:
            self.stderr.write(f"sandbox refused the platform: {response.text[:200]}")
            return
        ticket_url = f"{sandbox}/_sandbox/components/{platform.component_appid}/ticket"
        threading.Thread(
            target=_push_tickets, args=(ticket_url, host, port), name="demo-tickets", daemon=True
        ).start()
        names = ", ".join(a["name"] for a in SANDBOX_ONLY_ACCOUNTS)
        self.stdout.write(f"Third-party platform {platform.component_appid}; accounts to "
                          f"connect by authorization: {names}")


def _beat(*, rounds: int | None = None) -> None:
    """The demo's `celery beat`: every entry of CELERY_BEAT_SCHEDULE at its interval, run
    in this process (tasks are eager here). Without it a reply waiting for its next
    attempt, a lost task's delivery or a snoozed conversation would wait for ever.
    ``rounds`` bounds the loop (tests); the demo runs it for ever."""
    from django.db import close_old_connections
    from django.utils.module_loading import import_string

    schedule = settings.CELERY_BEAT_SCHEDULE
    due = {name: time.monotonic() + float(entry["schedule"]) for name, entry in schedule.items()}
    while rounds is None or rounds > 0:
        rounds = None if rounds is None else rounds - 1
        name = min(due, key=due.__getitem__)
        time.sleep(max(0.0, due[name] - time.monotonic()))
        due[name] = time.monotonic() + float(schedule[name]["schedule"])
        close_old_connections()
        try:
            # Entries name their task by its dotted path, as celery beat's do.
            import_string(schedule[name]["task"]).delay()
        except Exception:  # noqa: BLE001 - one failing round must not stop the others
            logger.exception("demo beat entry failed", extra={"entry": name})


def _push_tickets(ticket_url: str, host: str, port: int) -> None:
    """The platform's ticket, first as soon as the portal listens, then every 10 minutes."""
    while _port_free(host, port):
        time.sleep(0.2)
    while True:
        # A failed round is simply retried at the next one, as WeChat does.
        with contextlib.suppress(requests.RequestException):
            requests.post(ticket_url, timeout=30)
        time.sleep(TICKET_INTERVAL)


def _first_traffic(sandbox: str, host: str, port: int) -> None:
    """The first run's followers and conversations, made the real way: simulated followers
    follow, scan and write through the sandbox, which pushes signed callbacks to the portal."""
    from wechat.sandbox.simulate import SimConfig, run

    while _port_free(host, port):
        time.sleep(0.2)
    run(SimConfig(sandbox=sandbox, accounts=TRAFFIC_ACCOUNTS, followers=4, rate=10.0,
                  duration=0, events=40, seed=2026, concurrency=2))
