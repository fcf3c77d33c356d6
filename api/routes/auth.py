from typing import Annotated

from fastapi import APIRouter, Form, status
from pydantic import BaseModel, StringConstraints
from sqlmodel import select

from api.bodies import StrictRoute
from api.deps import CurrentUser, SessionDep, SettingsDep
from api.errors import api_error
from core.security import create_token, signs_in
from models.users import Token, User

router = APIRouter(prefix="/api/auth", tags=["auth"], route_class=StrictRoute)


class Login(BaseModel):
    """The OAuth2 password form (other OAuth2 fields are ignored)."""

    username: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")
    ]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


@router.post("/token")
def login(form: Annotated[Login, Form()], session: SessionDep, settings: SettingsDep) -> Token:
    user = session.exec(select(User).where(User.username == form.username)).first()
    if (
        user is None
        or not user.active
        or not signs_in(form.password, user.password_hash, settings.demo_mode)
    ):
        raise api_error(status.HTTP_401_UNAUTHORIZED, "用户名或密码错误", "bad_credentials")
    token = create_token(
        {"sub": user.id, "role": user.role.value}, settings.jwt_secret, settings.jwt_minutes
    )
    return Token(access_token=token, role=user.role)


@router.get("/me")
def me(user: CurrentUser) -> dict[str, str | None]:
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role.value,
        "display_name": user.display_name,
        "school_id": user.school_id,
        "region_code": user.region_code,
    }
