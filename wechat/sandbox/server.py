"""The HTTP server: routing, the per-call pipeline (faults, token, quota) and start_in_thread."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from wechat.permissions import path_allowed

from . import faults, quota
from .api_media import VIDEO_CDN_PATH, video_file
from .api_token import expire_token, validate_token
from .clock import SandboxClock
from .consent import PAGES
from .ipcheck import check_component_ip
from .state import Fault, SandboxState
from .web import ROUTES, ApiError, ControlError, Ctx, Request, Response, Route

MAX_BODY = 20 * 1024 * 1024
MAX_CALL_LOG = 200_000


def _load_routes() -> None:
    # Importing the modules registers their endpoints in ROUTES.
    from . import (  # noqa: F401
        api_component,
        api_datacube,
        api_mass,
        api_menu,
        api_message,
        api_qrcode,
        api_quota,
        api_speed,
        api_tag,
        api_token,
        api_user,
    )


class SandboxServer:
    """One emulated platform: state, clock, HTTP server and (optionally) a job runner."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, state: SandboxState | None = None,
                 clock: SandboxClock | None = None, auto_jobs: bool = False,
                 state_file: str | None = None) -> None:
        _load_routes()
        self.state = state or SandboxState()
        self.clock = clock or SandboxClock()
        self.state_file = state_file
        self.auto_jobs = auto_jobs
        self.httpd = ThreadingHTTPServer((host, port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.sandbox = self  # type: ignore[attr-defined]
        self.host, self.port = self.httpd.server_address[:2]
        self.base_url = f"http://{self.host}:{self.port}"
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> SandboxServer:
        serve = threading.Thread(target=self.httpd.serve_forever, name="wechat-sandbox",
                                 daemon=True, kwargs={"poll_interval": 0.05})
        serve.start()
        self._threads.append(serve)
        if self.auto_jobs or self.state_file:
            worker = threading.Thread(target=self._background, name="wechat-sandbox-jobs",
                                      daemon=True)
            worker.start()
            self._threads.append(worker)
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.state_file:
            self.save()

    def save(self, path: str | None = None) -> str:
        """Write state (and the clock) to `path` or the --state file."""
        target = path or self.state_file
        if not target:
            raise ValueError("no state file")
        snapshot = self.clock.snapshot()
        snapshot["offset"] = snapshot["now"] - time.time()
        self.state.save(target, clock=snapshot)
        return target

    def load(self, path: str) -> None:
        """Load state and restore the sandbox clock where it was when saved."""
        clock = self.state.load(path)
        if clock.get("frozen"):
            self.clock.set(float(clock["now"]))
            self.clock.freeze(True)
        elif clock.get("offset"):
            # Keep the offset, not the instant: time went on while the sandbox was down.
            self.clock.set(time.time() + float(clock["offset"]))

    def reset(self) -> None:
        """Forget everything: state, clock offset and faults."""
        self.state.clear()
        self.clock.reset()
        faults.reseed()

    def _background(self) -> None:
        from .jobs import run_due_jobs

        saved_version = -1
        while not self._stopping.wait(1.0):
            if self.auto_jobs:
                run_due_jobs(self)
            if self.state_file and self.state.version != saved_version:
                saved_version = self.state.version
                self.save()

    # -- in-process control -----------------------------------------------------------

    def control(self, method: str, path: str, body: Any = None,
                query: dict[str, str] | None = None) -> Any:
        """Call a control endpoint without HTTP; raises ControlError on failure."""
        from .control import dispatch as control_dispatch

        if not path.startswith("/_sandbox"):
            path = "/_sandbox" + path
        raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        req = Request(method.upper(), path, query or {}, {}, raw)
        resp = control_dispatch(self, req)
        data = json.loads(resp.body or b"null")
        if resp.status >= 400:
            raise ControlError(resp.status, (data or {}).get("error", ""))
        return data

    # -- dispatch -----------------------------------------------------------------------

    def dispatch(self, req: Request) -> Response:
        if req.path.startswith("/_sandbox/") or req.path == "/_sandbox":
            from .control import dispatch as control_dispatch

            return control_dispatch(self, req)
        if req.path.startswith(VIDEO_CDN_PATH):
            return video_file(self, req)
        page = PAGES.get(req.path)
        if page is not None:
            # Browser pages (the consent page) run outside the per-call pipeline.
            return page(self, req)
        route = ROUTES.get(req.path)
        if route is None:
            with self.state.lock:
                named = faults.names_path(self.state, req.path, self.clock.now())
            if not named:
                return Response(404, b"404 Not Found", "text/plain")
            # A fault naming an endpoint the sandbox does not model (the kf account and
            # session APIs) still fires there, so its errcodes can be produced.
            route = Route(req.method, req.path, _unmodelled, "none", None)
        return self.platform_call(route, req)

    def platform_call(self, route: Route, req: Request) -> Response:
        state = self.state
        token_param = "component_access_token" if route.auth == "component" else "access_token"
        token_value = req.query.get(token_param)
        with state.lock:
            known = state.tokens.get(token_value or "")
            appid = known.appid if known else _appid_hint(req)
            fault = faults.take(state, appid=appid, path=req.path,
                                has_token=route.auth != "none" and known is not None,
                                now=self.clock.now())
        kind = fault.kind if fault is not None else None
        if fault is not None and kind == "slow":
            time.sleep(fault.delay)
        if kind == "http_500":
            with state.lock:
                self._log_call(appid, req.path, None, 500, fault=kind)
            return Response(500, b"<html><body>500 Internal Server Error</body></html>",
                            "text/html")
        with state.lock:
            now = self.clock.now()
            ctx = Ctx(state=state, clock=self.clock, req=req, now=now, appid=appid, server=self)
            try:
                result = self._run(route, ctx, fault)
                errcode = result.get("errcode", 0) if isinstance(result, dict) else 0
            except ApiError as exc:
                result, errcode = exc.body(), exc.errcode
            self._log_call(ctx.appid, req.path, errcode, 200, fault=kind)
            state.version += 1
        response = result if isinstance(result, Response) else Response.json(result)
        if fault is not None and kind in ("slow_after", "drop_after"):
            # The work is done and recorded; only its answer is late or lost.
            time.sleep(fault.delay)
            if kind == "drop_after":
                return Response(drop=fault.how or "close")
        return response

    def _run(self, route: Route, ctx: Ctx, fault: Fault | None) -> Any:
        req = ctx.req
        fault_kind = fault.kind if fault is not None else None
        if fault_kind in faults.ANSWERS:
            raise ApiError(faults.ANSWERS[fault_kind])
        if fault is not None and fault_kind == "errcode" and fault.errcode is not None:
            raise ApiError(fault.errcode, fault.errmsg)
        if route.method == "POST" and req.method != "POST":
            raise ApiError(43002)
        if route.method == "GET" and req.method != "GET":
            raise ApiError(43001)
        if route.auth in ("token", "component"):
            kinds = ("component",) if route.auth == "component" else (
                "token", "stable", "authorizer")
            param = "component_access_token" if route.auth == "component" else "access_token"
            token = validate_token(ctx.state, req.query.get(param), ctx.now, kinds=kinds)
            ctx.token, ctx.appid = token, token.appid
            if fault_kind == "token_expired":
                expire_token(token, ctx.now)
                raise ApiError(42001)
            platform = token.component_appid if token.kind == "authorizer" else (
                token.appid if token.kind == "component" else None)
            if platform is not None and platform in ctx.state.components:
                check_component_ip(ctx.state.components[platform], req.client_ip)
            if token.kind == "authorizer" and route.bundle is not None:
                _check_bundle(ctx, route.bundle)
            account = ctx.state.accounts.get(token.appid)
            # The account's type must have the interface at all (wechat/permissions.py),
            # whichever token calls it: a bundle grants nothing the type lacks.
            if account is not None and not path_allowed(
                    route.path, kind=account.kind, verified=account.verified):
                raise ApiError(48001)
            if account is not None and route.path in account.banned_apis:
                raise ApiError(48004)
            if quota.exhausted(ctx.state, token.appid, route.path, ctx.now):
                raise ApiError(45009)
            quota.count(ctx.state, token.appid, route.path, ctx.now)
        return route.handler(ctx)

    def _log_call(self, appid: str | None, path: str, errcode: int | None, status: int,
                  *, fault: str | None = None) -> None:
        state = self.state
        # `fault` names the fault that struck the call, e.g. "drop_after": the work was
        # done (errcode) but its answer never reached the caller.
        state.calls.append({"at": self.clock.now(), "appid": appid, "path": path,
                            "errcode": errcode, "status": status, "fault": fault})
        if len(state.calls) > MAX_CALL_LOG:
            del state.calls[: len(state.calls) - MAX_CALL_LOG]
        state.bump("calls", path)
        if errcode:
            state.bump("errors", str(errcode))
        elif status >= 500:
            state.bump("errors", str(status))


def _appid_hint(req: Request) -> str | None:
    """Which account a token-less call is about, so faults can target it."""
    if req.query.get("appid"):
        return req.query["appid"]
    try:
        body = json.loads(req.body or b"{}")
    except ValueError:
        return None
    if isinstance(body, dict):
        for key in ("appid", "component_appid"):
            if isinstance(body.get(key), str):
                return body[key]
    return None


def _check_bundle(ctx: Ctx, bundle: int) -> None:
    token = ctx.token
    assert token is not None  # noqa: S101 - called only after validation
    component = ctx.state.components.get(token.component_appid or "")
    grant = component.authorizations.get(token.appid) if component else None
    if grant is None:
        raise ApiError(61003)
    # The platform itself must hold the bundle (61007) before the account's grant counts.
    if component is not None and component.func_ids is not None and (
            bundle not in component.func_ids):
        raise ApiError(61007)
    if bundle not in grant["func_ids"]:
        raise ApiError(48001)


def _unmodelled(ctx: Ctx) -> Response:
    """An endpoint the sandbox does not model, reached only while a fault names it."""
    return Response(404, b"404 Not Found", "text/plain")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one segment; otherwise keep-alive clients wait out
    # delayed ACKs (~40 ms a call).
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024
    server_version = "nginx"
    sys_version = ""

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        req = Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            client_ip=str(self.client_address[0]),
        )
        sandbox: SandboxServer = self.server.sandbox  # type: ignore[attr-defined]
        try:
            resp = sandbox.dispatch(req)
        except Exception as exc:  # noqa: BLE001 - a sandbox bug must not kill the connection
            resp = Response(500, json.dumps({"error": repr(exc)}).encode(), "application/json")
        if resp.drop:
            self._drop(resp.drop)
            return
        try:
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.body)))
            for key, value in resp.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The caller stopped waiting (a slow_after answer after its read timeout).
            self.close_connection = True

    def _drop(self, how: str) -> None:
        """End the connection without an answer: a plain close (the client reads EOF where
        the status line should be) or, for "reset", an RST."""
        self.close_connection = True
        if how == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return


def start_in_thread(host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> SandboxServer:
    """Start a sandbox serving in a daemon thread and return it."""
    return SandboxServer(host, port, **kwargs).start()
