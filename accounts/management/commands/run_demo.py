"""Serve the demo in one process: the WeChat sandbox on loopback and the portal (ASGI)."""

import socket
from urllib.parse import urlparse

import requests
import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from accounts.models import OfficialAccount


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


class Command(BaseCommand):
    help = "Run the WeChat sandbox and the portal together (the demo's one process)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: object, host: str, port: int, **options: object) -> None:
        sandbox_url = urlparse(settings.WECHAT_API_BASE)
        sb_host, sb_port = sandbox_url.hostname or "127.0.0.1", sandbox_url.port or 8701
        if sb_host in ("127.0.0.1", "localhost") and _port_free(sb_host, sb_port):
            from wechat.sandbox.server import start_in_thread

            start_in_thread(host=sb_host, port=sb_port)
            self.stdout.write(f"WeChat sandbox on http://{sb_host}:{sb_port}/")
            self._register_accounts(f"http://{sb_host}:{sb_port}", f"http://{host}:{port}")
        self.stdout.write(f"Brand portal on http://{host}:{port}/  (Ctrl+C to stop)")
        uvicorn.run("config.asgi:application", host=host, port=port, log_level="info")

    def _register_accounts(self, sandbox: str, portal: str) -> None:
        """Mirror the seeded accounts into the sandbox so the platform knows them."""
        for account in OfficialAccount.objects.filter(connection="direct"):
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
