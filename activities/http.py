"""Calling a subsystem over HTTP, with the failure split Temporal's retries rely on.

A business refusal (4xx) raises a non-retryable `BusinessRejection`; an outage, a 5xx or a
time-out raises an ordinary error that the activity's retry policy retries.
"""

import hashlib
from typing import Any

import httpx
from temporalio.exceptions import ApplicationError

BUSINESS_REJECTION = "BusinessRejection"


class SubsystemError(Exception):
    """Retryable: the subsystem is down, slow or answered 5xx."""


# The longest id the subsystems accept (their request and instruction ids are VARCHAR(64)).
MAX_EXTERNAL_ID = 64


def external_id(key: str, limit: int = MAX_EXTERNAL_ID) -> str:
    """An idempotency key as a subsystem can take it: unchanged when it fits, else its start
    and a digest of the whole, so the same key always gives the same id and two keys differ."""
    if len(key) <= limit:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"{key[: limit - len(digest) - 1]}~{digest}"


def business_rejection(message: str, detail: Any = None) -> ApplicationError:
    return ApplicationError(message, detail, type=BUSINESS_REJECTION, non_retryable=True)


class SubsystemClient:
    def __init__(self, name: str, base_url: str, timeout: float) -> None:
        self.name = name
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def call(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, json=json)
        except httpx.HTTPError as exc:
            raise SubsystemError(f"{self.name} unreachable: {exc!r}") from exc
        if response.status_code >= 500:
            raise SubsystemError(f"{self.name} answered {response.status_code}")
        body = response.json() if response.content else {}
        if response.status_code >= 400:
            detail = body.get("detail", body) if isinstance(body, dict) else body
            reason = detail.get("reason") if isinstance(detail, dict) else None
            raise business_rejection(reason or f"{self.name} refused: {detail}", detail)
        return body

    async def aclose(self) -> None:
        await self._http.aclose()
