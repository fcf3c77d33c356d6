"""Annotated dependencies: settings, database session, Temporal client, and the caller by port.

Each port's dependency checks the role once, here, so handlers only check scope of the
particular record they touch.

Dependencies are coroutines, so none of them waits for one of the server's worker threads,
and a request gives its database connection back before it waits on Temporal: the caller is
read in a transaction of its own (objects stay loaded after it ends), and so is an
Idempotency-Key claim. Holding a connection across those waits starved the pool (and the
threads queued for it) at a few dozen concurrent learners.
"""

from collections.abc import AsyncIterator
from typing import Annotated

import jwt
from fastapi import Depends, Header, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session
from temporalio.client import Client

from api.errors import api_error
from api.idempotency import HEADER, KEY_PATTERN, Idempotency
from core.config import Settings
from core.db import engine_for
from core.regions import is_region_code
from core.security import decode_token
from models.users import Role, User

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)
ROLE_NAMES = {
    Role.learner: "学员",
    Role.school_staff: "驾校工作人员",
    Role.regulator: "监管部门",
    Role.ops: "平台运维",
}


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_session(settings: SettingsDep) -> AsyncIterator[Session]:
    with Session(engine_for(settings.database_url), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def get_temporal(request: Request) -> Client:
    client: Client | None = request.app.state.temporal
    if client is None:
        raise api_error(status.HTTP_503_SERVICE_UNAVAILABLE, "流程引擎暂不可用，请稍后重试")
    return client


TemporalDep = Annotated[Client, Depends(get_temporal)]


async def current_user(
    session: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2)]
) -> User:
    unauthorized = api_error(
        status.HTTP_401_UNAUTHORIZED, "未登录或登录已失效", headers={"WWW-Authenticate": "Bearer"}
    )
    if not token:
        raise unauthorized
    try:
        claims = decode_token(token, settings.jwt_secret)
    except jwt.InvalidTokenError as exc:
        raise unauthorized from exc
    user = session.get(User, claims.get("sub", ""))
    session.commit()  # ends the read: the connection goes back to the pool
    if user is None or not user.active:
        raise unauthorized
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def _role(*roles: Role):  # type: ignore[no-untyped-def]
    async def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise api_error(status.HTTP_403_FORBIDDEN, f"此入口仅限{ROLE_NAMES[roles[0]]}使用")
        return user

    return check


async def _regulator(user: Annotated[User, Depends(_role(Role.regulator))]) -> User:
    """A regulator sees their region only; without a valid region, nothing (fail closed)."""
    if not is_region_code(user.region_code):
        raise api_error(status.HTTP_403_FORBIDDEN, "该账户未设置有效的监管辖区", "no_region")
    return user


LearnerUser = Annotated[User, Depends(_role(Role.learner))]
StaffUser = Annotated[User, Depends(_role(Role.school_staff))]
RegulatorUser = Annotated[User, Depends(_regulator)]
OpsUser = Annotated[User, Depends(_role(Role.ops))]


async def idempotency(
    session: SessionDep,
    user: CurrentUser,
    key: Annotated[str | None, Header(alias=HEADER, max_length=128, pattern=KEY_PATTERN)] = None,
) -> Idempotency:
    return Idempotency(session, user, key)


# A client's key for one action: a retried request with the same key is the same Update.
IdempotencyKey = Annotated[Idempotency, Depends(idempotency)]
