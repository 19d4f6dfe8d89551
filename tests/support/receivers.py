"""Real receivers on 127.0.0.1 for delivery tests: a webhook HTTP server and an SMTP sink."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["Hook", "Mailbox", "smtp_sink", "wait_for", "webhook_server"]


@dataclass
class Hook:
    """What the webhook server received; ``fail_first`` requests are answered 500."""

    url: str = ""
    fail_first: int = 0
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def webhook_server(*, fail_first: int = 0) -> Iterator[Hook]:
    """An HTTP server on 127.0.0.1 that records every POST."""
    hook = Hook(fail_first=fail_first)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with hook.lock:
                hook.answered += 1
                failing = hook.answered <= hook.fail_first
                if not failing:
                    hook.requests.append((dict(self.headers.items()), body))
            self.send_response(500 if failing else 204)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    """Messages the SMTP sink received."""

    port: int = 0
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.box.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@contextmanager
def smtp_sink() -> Iterator[Mailbox]:
    """An aiosmtpd server on 127.0.0.1 (a free port) that keeps every message."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    box = Mailbox(port=port)
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def wait_for(check: Callable[[], bool], *, within: float) -> bool:
    """Poll ``check`` until it holds or ``within`` seconds pass (a deadline, not a fixed sleep)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
