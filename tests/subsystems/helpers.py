"""Test helpers: a platform-side webhook receiver and valid ID numbers."""

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response

from core.config import WEBHOOK_SUBSYSTEMS
from core.idcard import check_char
from core.signing import NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from subsystems.common import CALLBACK_ID_HEADER

SECRET = "test-webhook-secret"
# Every simulator calls the one test receiver back, so here they share its secret.
SECRETS = dict.fromkeys(WEBHOOK_SUBSYSTEMS, SECRET)


def id_number(serial: int) -> str:
    """A valid GB 11643 ID number (born 1990-01-01 in Rizhao), distinct per serial."""
    first17 = f"37110219900101{serial % 1000:03d}"
    return first17 + check_char(first17)


@dataclass
class Receiver:
    """The platform's webhook endpoint as the simulators see it: verifies the HMAC."""

    secret: str = SECRET
    fail_first: int = 0  # answer 500 to this many deliveries first, to exercise retries
    received: list[dict[str, Any]] = field(default_factory=list)
    nonces: list[str] = field(default_factory=list)  # of every delivery attempt
    app: FastAPI = field(default_factory=FastAPI)

    def __post_init__(self) -> None:
        self.app.post("/hook")(self._hook)

    async def _hook(self, request: Request) -> Response:
        self.nonces.append(request.headers.get(NONCE_HEADER, ""))
        if self.fail_first > 0:
            self.fail_first -= 1
            return Response(status_code=500)
        body = await request.body()
        ok = verify(
            body,
            self.secret,
            request.headers.get(SIGNATURE_HEADER),
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(NONCE_HEADER),
        )
        if not ok:
            return Response(status_code=401)
        self.received.append(
            {"callback_id": request.headers[CALLBACK_ID_HEADER], "payload": json.loads(body)}
        )
        return Response(status_code=204)

    def payloads(self, event: str | None = None) -> list[dict[str, Any]]:
        return [r["payload"] for r in self.received if event in (None, r["payload"]["event"])]
