"""Google ID tokens made here: an RSA key, its certificate served over local HTTP, apps served."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa

from benchmarks.stack import free_port
from services.common import push_auth
from services.common.push_auth import GoogleCertsKeySource
from tests.deploy.test_push_auth import KID, make_token, self_signed_pem

ADMIN_AUDIENCE = "prio-stream:prio-a:admin"
OPERATOR = "operator@example.com"
READER = "reader@example.com"
STRANGER = "stranger@example.com"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def admin_token(key, email: str, **claims) -> str:
    """A Google ID token of `email` for the admin audience, signed by key under KID."""
    return make_token(key, aud=ADMIN_AUDIENCE, email=email, **claims)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class CertServer:
    """Google's certs endpoint on 127.0.0.1: `{kid: pem}` with a max-age, or (hang=True) a
    server that takes the connection and never answers, as behind a dead proxy."""

    def __init__(self, certs: dict[str, str] | None = None, *, hang: bool = False):
        self.certs = certs or {}
        self.requests = 0
        self.connected = threading.Event()
        self.release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests += 1
                owner.connected.set()
                if hang:
                    owner.release.wait(60)
                    return
                body = json.dumps(owner.certs).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "public, max-age=3600")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/oauth2/v1/certs"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def use_google_keys(monkeypatch, url: str, **options) -> GoogleCertsKeySource:
    """The process-wide Google key source, pointed at url: every token check fetches there."""
    source = GoogleCertsKeySource(url, **options)
    monkeypatch.setattr(push_auth, "_google_keys", source)
    return source


def serve(app) -> tuple[str, uvicorn.Server, threading.Thread]:
    """The app on a real event loop (uvicorn, in a thread): blocking work on the loop shows."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server, thread


def stop(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(10)



__all__ = ["ADMIN_AUDIENCE", "KID", "OPERATOR", "READER", "STRANGER", "CertServer",
           "admin_token", "bearer", "make_token", "new_key", "self_signed_pem", "serve", "stop",
           "use_google_keys"]
