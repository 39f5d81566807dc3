"""Access tokens for tests of the services that verify identity's tokens offline
(verification, cancellation): signed with identity's committed dev key, as a dev-mode
identity would sign them, and a verifier that knows that key without asking identity."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fastapi import FastAPI

from services.identity.settings import DEV_SIGNING_KEY
from shared.auth import Caller, TokenSigner, TokenVerifier, jwks


class DevTokens:
    """Mints tokens as a dev-mode identity does; `install` makes an app trust them."""

    def __init__(self, ttl_s: int = 300) -> None:
        self.signer = TokenSigner(DEV_SIGNING_KEY, ttl_s=ttl_s)

    def jwks(self) -> Any:
        """The key set a dev-mode identity publishes at /.well-known/jwks.json."""
        return jwks([self.signer.public_key])

    async def _fetch(self) -> Any:
        return self.jwks()

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(self._fetch)

    def install(self, app: FastAPI) -> None:
        """The app's runtime verifies with this key set instead of fetching identity's."""
        app.state.runtime.tokens = self.verifier()

    def token(
        self,
        account_id: str,
        *,
        stepped_up_at: datetime | None = None,
        now: datetime | None = None,
    ) -> str:
        """A session's access token; `stepped_up_at`: a second factor proven then (PROT-1)."""
        issued = now or datetime.now(UTC)
        caller = Caller(
            account_id=account_id,
            session_id=f"s-{uuid.uuid4().hex[:12]}",
            amr=("pwd", "sms") if stepped_up_at else ("pwd",),
            auth_time=int(issued.timestamp()),
            step_up_at=int(stepped_up_at.timestamp()) if stepped_up_at else None,
        )
        return self.signer.sign(caller, now=issued)

    def headers(self, account_id: str, *, step_up: bool = False, **options: Any) -> dict[str, str]:
        """Authorization headers; `step_up=True`: a second factor proven just now."""
        if step_up:
            options.setdefault("stepped_up_at", options.get("now") or datetime.now(UTC))
        return {"authorization": f"Bearer {self.token(account_id, **options)}"}


@contextlib.contextmanager
def jwks_server(tokens: DevTokens) -> Iterator[str]:
    """Identity's /.well-known/jwks.json for the tokens' key on a free local port (for a
    service run as a process without identity); yields its URL."""
    body = json.dumps(tokens.jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
