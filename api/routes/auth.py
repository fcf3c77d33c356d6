from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlmodel import select

from api.deps import CurrentUser, SessionDep, SettingsDep
from core.security import create_token, verify_password
from models.users import Token, User

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/token")
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    user = session.exec(select(User).where(User.username == form.username)).first()
    if user is None or not user.active or not verify_password(form.password, user.password_hash):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
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
