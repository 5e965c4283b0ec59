"""Small HTTP servers for the tools and providers to talk to (real sockets on loopback)."""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[str, str, bytes, int], tuple[int, dict[str, str], bytes]]


class LocalServer:
    """Serves ``responder(method, path, body, hit_number) -> (status, headers, body)``."""

    def __init__(self, port: int, responder: Responder) -> None:
        self.hits: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.hits.append({"method": self.command, "path": self.path, "body": body,
                                   "headers": dict(self.headers)})
                status, headers, payload = responder(self.command, self.path, body, len(outer.hits))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def json_body(data: Any) -> bytes:
    return json.dumps(data).encode()
