"""Benchmark: verify msg_signature + decrypt + parse of safe-mode pushes, ours vs wechatpy.

    .venv/bin/python bench/protocol.py [--count 10000] [--rounds 5] [--profile]

Both halves read the same generated pushes and run in their own subprocess, one after the
other, so neither pays for the other's imports or garbage. wechatpy lives only in
``bench/.venv-wechatpy`` (created on first run with ``python -m venv`` + pip): the
product's environment never gets it. Per message each side does what a callback view
does: read the envelope, check msg_signature, decrypt, check the AppID, parse the
plaintext into a typed message (wechatpy: ``WeChatCrypto.decrypt_message`` +
``parse_message``; ours: ``wechat.messages.parse_encrypted``). A checksum over what each
side parsed proves they did the same work.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WECHATPY_VENV = HERE / ".venv-wechatpy"
TOKEN = "benchtoken"  # noqa: S105 - a throwaway benchmark token
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx1234567890abcdef"
OA = "gh_97417a04a28d"
TARGET_RATIO = 1.3

TEXTS = [
    "你好，请问门店几点开门？",
    "我想退货，订单号 20240425-8812，谢谢 🙏",
    "hello",
    "Is the spring collection available in size M?",
    "优惠券怎么用？😀😀 第二行\n第三行",
    "收到，谢谢！" * 20,
    "<b>not markup</b> & a]]>terminator",
]


# --- the data set (built with our library in the project venv) ------------------


def _openid(rng: random.Random) -> str:
    return "o" + "".join(rng.choices(string.ascii_letters + string.digits + "-_", k=27))


def _plain_push(rng: random.Random, i: int, now: int) -> dict[str, Any]:
    common = {"ToUserName": OA, "FromUserName": _openid(rng), "CreateTime": now + i}
    msg_id = 24540219878547062 + i
    roll = rng.random()
    if roll < 0.55:
        return {**common, "MsgType": "text", "Content": rng.choice(TEXTS), "MsgId": msg_id}
    if roll < 0.62:
        return {
            **common,
            "MsgType": "image",
            "PicUrl": "http://mmbiz.qpic.cn/mmbiz_jpg/abc/0",
            "MediaId": "m" * 64,
            "MsgId": msg_id,
        }
    if roll < 0.66:
        return {**common, "MsgType": "voice", "MediaId": "v" * 64, "Format": "amr",
                "Recognition": "腾讯微信团队", "MsgId": msg_id}  # fmt: skip
    if roll < 0.70:
        return {**common, "MsgType": "location", "Location_X": 23.134521,
                "Location_Y": 113.358803, "Scale": 20, "Label": "广州市海珠区",
                "MsgId": msg_id}  # fmt: skip
    event = {**common, "MsgType": "event"}
    if roll < 0.80:
        return {**event, "Event": "subscribe", "EventKey": f"qrscene_{i % 97}", "Ticket": "T" * 96}
    if roll < 0.84:
        return {**event, "Event": "unsubscribe", "EventKey": ""}
    if roll < 0.88:
        return {**event, "Event": "SCAN", "EventKey": str(i % 97), "Ticket": "T" * 96}
    if roll < 0.93:
        return {**event, "Event": "CLICK", "EventKey": "MENU_PROMO"}
    if roll < 0.96:
        return {**event, "Event": "VIEW", "EventKey": "https://shop.example.com/", "MenuId": "7"}
    if roll < 0.98:
        return {**event, "Event": "LOCATION", "Latitude": 23.137466,
                "Longitude": 113.352425, "Precision": 119.385040}  # fmt: skip
    return {**event, "Event": "TEMPLATESENDJOBFINISH", "MsgID": 200163836 + i,
            "Status": "success"}  # fmt: skip


def build_dataset(count: int) -> list[dict[str, str]]:
    sys.path.insert(0, str(ROOT))
    from wechat.crypto import MessageCrypto, msg_signature
    from wechat.xmlutil import to_xml

    rng = random.Random(20240425)  # noqa: S311 - reproducible data, not secrets
    box = MessageCrypto(TOKEN, AES_KEY, APPID)
    now = 1714112445
    pushes = []
    for i in range(count):
        encrypt = box.encrypt(to_xml(_plain_push(rng, i, now)))
        timestamp, nonce = str(now + i), str(rng.randrange(10**8, 10**9))
        pushes.append(
            {
                "body": to_xml({"ToUserName": OA, "Encrypt": encrypt}),
                "msg_signature": msg_signature(TOKEN, timestamp, nonce, encrypt),
                "timestamp": timestamp,
                "nonce": nonce,
            }
        )
    return pushes


# --- the two halves (each runs in its own interpreter) ---------------------------


def _ours() -> tuple[Any, Any]:
    sys.path.insert(0, str(ROOT))
    from wechat.crypto import MessageCrypto
    from wechat.messages import parse_encrypted

    box = MessageCrypto(TOKEN, AES_KEY, APPID)

    def handle(body: bytes, signature: str, timestamp: str, nonce: str) -> Any:
        return parse_encrypted(
            body, crypto=box, msg_signature=signature, timestamp=timestamp, nonce=nonce
        )

    def summary(message: Any) -> str:
        return f"{message.from_user}|{message.msg_type}|{getattr(message, 'content', '')}"

    return handle, summary


def _wechatpy() -> tuple[Any, Any]:
    from wechatpy import parse_message
    from wechatpy.crypto import WeChatCrypto

    box = WeChatCrypto(TOKEN, AES_KEY, APPID)

    def handle(body: bytes, signature: str, timestamp: str, nonce: str) -> Any:
        return parse_message(box.decrypt_message(body, signature, timestamp, nonce))

    def summary(message: Any) -> str:
        return f"{message.source}|{message.type}|{getattr(message, 'content', '') or ''}"

    return handle, summary


def run_half(side: str, data_file: Path, rounds: int, profile: bool) -> dict[str, Any]:
    pushes = json.loads(data_file.read_text())
    work = [(p["body"].encode(), p["msg_signature"], p["timestamp"], p["nonce"]) for p in pushes]
    handle, summary = _ours() if side == "ours" else _wechatpy()

    # One untimed pass: warms caches and yields the checksum of what was parsed.
    digest = hashlib.sha256()
    for args in work:
        digest.update(summary(handle(*args)).encode())
        digest.update(b"\n")

    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for args in work:
            handle(*args)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(15)

    # CPU time of this process: on a shared machine wall time mostly measures the neighbours.
    timings = []
    for _ in range(rounds):
        started = time.process_time()
        for args in work:
            handle(*args)
        timings.append((time.process_time() - started) / len(work))
    return {
        "side": side,
        "count": len(work),
        "best_us": min(timings) * 1e6,
        "median_us": statistics.median(timings) * 1e6,
        "checksum": digest.hexdigest(),
        "python": sys.version.split()[0],
    }


# --- orchestration ---------------------------------------------------------------


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_wechatpy_venv() -> Path:
    python = _venv_python(WECHATPY_VENV)
    probe = [str(python), "-c", "import wechatpy, cryptography"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"creating {WECHATPY_VENV.relative_to(ROOT)} (wechatpy stays out of the product)")
    subprocess.run([sys.executable, "-m", "venv", str(WECHATPY_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "wechatpy", "cryptography"], check=True
    )
    return python


def _spawn(python: Path, side: str, data_file: Path, rounds: int, profile: bool) -> dict:
    command = [str(python), str(Path(__file__).resolve()), "--half", side]
    command += ["--data", str(data_file), "--rounds", str(rounds)]
    if profile:
        command.append("--profile")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env, cwd=HERE)
    if done.stderr:
        print(done.stderr, file=sys.stderr)
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5, help="timed passes per run")
    parser.add_argument("--pairs", type=int, default=3, help="alternating runs of each side")
    parser.add_argument("--profile", action="store_true", help="cProfile our half")
    parser.add_argument("--half", choices=["ours", "wechatpy"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.half:
        print(json.dumps(run_half(args.half, args.data, args.rounds, args.profile)))
        return 0

    wechatpy_python = ensure_wechatpy_venv()
    with tempfile.TemporaryDirectory() as tmp:
        data_file = Path(tmp) / "pushes.json"
        data_file.write_text(json.dumps(build_dataset(args.count)))
        # Alternate the sides so a noisy neighbour slows both alike, then keep each best.
        ours_runs, their_runs = [], []
        for pair in range(args.pairs):
            profile = args.profile and pair == 0
            ours_runs.append(_spawn(Path(sys.executable), "ours", data_file, args.rounds, profile))
            their_runs.append(_spawn(wechatpy_python, "wechatpy", data_file, args.rounds, False))
    ours = min(ours_runs, key=lambda run: run["best_us"])
    theirs = min(their_runs, key=lambda run: run["best_us"])

    passes = args.pairs * args.rounds
    print(f"{args.count} safe-mode pushes (verify + decrypt + parse), best of {passes} passes")
    for result in (ours, theirs):
        print(
            f"  {result['side']:<9} {result['best_us']:7.1f} CPU µs/message "
            f"(median {result['median_us']:.1f})  {1e6 / result['best_us']:>9,.0f} messages/s"
        )
    ratio = theirs["best_us"] / ours["best_us"]
    print(f"  ratio     ours is {ratio:.2f}x wechatpy (target {TARGET_RATIO}x)")
    if {run["checksum"] for run in ours_runs + their_runs} != {ours["checksum"]}:
        print("  MISMATCH: the two sides parsed different messages", file=sys.stderr)
        return 2
    print("  checksums match: both sides parsed identical messages")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
