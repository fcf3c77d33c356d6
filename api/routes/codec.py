"""The codec endpoint the Temporal Web UI calls to show ops the payloads it keeps sealed
(core/codec.py): `POST /api/ops/codec/decode` and `/encode`, proto3 JSON of `Payloads` in and
out. For the ops role only; everybody else sees ciphertext.

The UI that `temporal server start-dev --ui-codec-endpoint URL` starts (UI 2.54) calls the
endpoint from the browser with `Content-Type` and `X-Namespace` only: the dev server sets no
`passAccessToken` (and without the UI's own sign-in it has no token to pass) nor
`includeCredentials`. So an ops user signs in on the platform's pages and, once, in the UI's
Codec Server settings ticks "Include cross-origin credentials" (with "use my browser setting");
the browser then sends the platform's session cookie along. A cookie counts only on a request
from the UI's origin (settings.temporal_ui_url), so no other site can spend it; scripts use a
bearer token. CORS (credentials, those headers) is opened to the UI's origin for these two
routes alone.
"""

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request, status
from google.protobuf.json_format import MessageToDict
from pydantic import BaseModel, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload, Payloads

from api.accounts import session_user
from api.bodies import StrictRoute
from api.deps import ROLE_NAMES, SessionDep, SettingsDep, current_user, oauth2
from api.errors import api_error, field_error
from api.pages.web import SESSION_COOKIE
from core.codec import CodecError, codec
from core.config import Settings
from models.users import Role, User

PREFIX = "/api/ops/codec"
router = APIRouter(prefix=PREFIX, tags=["ops"], route_class=StrictRoute)


class PayloadJson(BaseModel):
    """One `Payload` in proto3 JSON: metadata values and data in base64."""

    metadata: dict[str, str] = Field(default_factory=dict)
    data: str = ""


class PayloadsJson(BaseModel):
    payloads: list[PayloadJson] = Field(max_length=1000)


def ui_origin(settings: Settings) -> str:
    url = urlsplit(settings.temporal_ui_url)
    return f"{url.scheme}://{url.netloc}"


async def ops_caller(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2)],
) -> User:
    """An ops user by bearer token, or by the pages' session cookie on a call from the UI."""
    if token:
        user: User | None = await current_user(session, settings, token)
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        from_ui = request.headers.get("origin") == ui_origin(settings)
        user = session_user(session, cookie) if cookie and from_ui else None
        session.commit()
    if user is None:
        raise api_error(
            status.HTTP_401_UNAUTHORIZED,
            "未登录或登录已失效",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if user.role is not Role.ops:
        raise api_error(status.HTTP_403_FORBIDDEN, f"此入口仅限{ROLE_NAMES[Role.ops]}使用")
    return user


OpsCaller = Annotated[User, Depends(ops_caller)]


def _payloads(body: PayloadsJson) -> list[Payload]:
    def raw(text: str) -> bytes:
        return base64.b64decode(text, validate=True)

    try:
        return [
            Payload(metadata={k: raw(v) for k, v in p.metadata.items()}, data=raw(p.data))
            for p in body.payloads
        ]
    except binascii.Error as exc:
        raise field_error("payloads", "metadata 与 data 须为 base64 编码") from exc


@router.post("/decode")
async def decode(body: PayloadsJson, settings: SettingsDep, _: OpsCaller) -> dict[str, Any]:
    try:
        opened = await codec(settings).decode(_payloads(body))
    except CodecError as exc:
        raise field_error("payloads", str(exc), kind="codec_refused") from exc
    return MessageToDict(Payloads(payloads=opened))


@router.post("/encode")
async def encode(body: PayloadsJson, settings: SettingsDep, _: OpsCaller) -> dict[str, Any]:
    sealed = await codec(settings).encode(_payloads(body))
    return MessageToDict(Payloads(payloads=sealed))


class _CodecCors:
    """CORS for the UI's origin on the codec's routes only: every other route stays closed to
    cross-origin reads with credentials."""

    def __init__(self, app: ASGIApp, origin: str) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=[origin],
            allow_methods=["POST"],
            allow_headers=["content-type", "x-namespace", "authorization", "authorization-extras"],
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ours = scope["type"] == "http" and scope["path"].startswith(PREFIX + "/")
        await (self.cors if ours else self.app)(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    app.include_router(router)
    app.add_middleware(_CodecCors, origin=ui_origin(settings))
