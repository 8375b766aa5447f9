"""A stand-in for an OpenAI-compatible chat endpoint: real HTTP on 127.0.0.1, started by the
tests (nothing here can reach OpenAI). It answers `POST /v1/chat/completions` with a
deterministic reply (`"echo: <last user message>"`), after an optional latency, in OpenAI's
response shape including `usage`, and counts the calls it served."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StandIn:
    def __init__(self, latency_s: float = 0.0):
        self.latency_s = latency_s
        self.calls = 0
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in separate writes; with Nagle on, the body waited for
            # the client's delayed ACK (about 40 ms per call).
            disable_nagle_algorithm = True

            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                with standin._lock:
                    standin.calls += 1
                if standin.latency_s:
                    time.sleep(standin.latency_s)
                messages = body.get("messages") or []
                last = next(
                    (m.get("content", "") for m in reversed(messages) if m.get("role") == "user"),
                    "",
                )
                answer = f"echo: {last}"
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{standin.calls}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "stand-in"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": answer},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {
                            "prompt_tokens": len(str(last).split()),
                            "completion_tokens": len(answer.split()),
                            "total_tokens": len(str(last).split()) + len(answer.split()),
                        },
                    },
                )

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "StandIn":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
