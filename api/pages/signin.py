"""Getting in: learners with their mobile number and an SMS code (the first time signs them
up), staff, regulators and administrators with their password; signing out."""

import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from api import accounts
from api.deps import SessionDep, SettingsDep
from api.errors import field_error
from api.pages.web import (
    HOME,
    SESSION_COOKIE,
    CheckedForm,
    VisitorDep,
    explain,
    field,
    redirect,
    render,
    set_session_cookie,
)
from models.users import User

router = APIRouter(include_in_schema=False)
PHONE = re.compile(r"1[3-9][0-9]{9}")


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _next(path: str, user: User) -> str:
    """Where to go after signing in: the page asked for, if it is one of ours."""
    home = HOME.get(user.role, "/")
    return path if path.startswith(home) and not path.startswith("//") else home


def _signed_in(session: SessionDep, settings: SettingsDep, user: User, to: str) -> Response:
    response = redirect(settings, to)
    set_session_cookie(response, settings, accounts.open_session(session, settings, user))
    return response


@router.get("/login")
def login_page(request: Request, who: VisitorDep, next: str = "") -> HTMLResponse:
    return render(request, who, "login.html", next=next)


@router.post("/login")
def login(
    request: Request, who: VisitorDep, form: CheckedForm, session: SessionDep, settings: SettingsDep
) -> Response:
    username, to = field(form, "username"), field(form, "next")
    try:
        user = accounts.user_by_password(
            session, settings, username, field(form, "password"), _address(request)
        )
    except HTTPException as exc:
        return render(
            request,
            who,
            "login.html",
            exc.status_code,
            next=to,
            username=username,
            error=explain(exc),
        )
    return _signed_in(session, settings, user, _next(to, user))


@router.get("/signup")
def signup_page(request: Request, who: VisitorDep, next: str = "") -> HTMLResponse:
    return render(request, who, "signup.html", next=next, phone="", sent=False)


def _phone(form: object) -> str | None:
    phone = field(form, "phone")  # type: ignore[arg-type]
    return phone if PHONE.fullmatch(phone) else None


@router.post("/signup/code")
async def send_code(
    request: Request, who: VisitorDep, form: CheckedForm, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    to, phone = field(form, "next"), _phone(form)
    page = {"next": to, "phone": field(form, "phone")}
    if phone is None:
        return render(
            request, who, "signup.html", 422, sent=False, error="请输入 11 位手机号", **page
        )
    try:
        await accounts.send_code(session, settings, phone, _address(request))
    except HTTPException as exc:
        return render(
            request, who, "signup.html", exc.status_code, sent=False, error=explain(exc), **page
        )
    return render(request, who, "signup.html", sent=True, **page)


@router.post("/signup")
def sign_up(
    request: Request, who: VisitorDep, form: CheckedForm, session: SessionDep, settings: SettingsDep
) -> Response:
    to, phone = field(form, "next"), _phone(form)
    try:
        if phone is None:
            raise field_error("phone", "请输入 11 位手机号")
        user = accounts.learner_by_code(session, settings, phone, field(form, "code"))
    except HTTPException as exc:
        page = {"next": to, "phone": field(form, "phone"), "sent": True, "error": explain(exc)}
        return render(request, who, "signup.html", exc.status_code, **page)
    return _signed_in(
        session, settings, user, _next(to, user) if user.real_name else "/learner/realname"
    )


@router.post("/logout")
def logout(
    request: Request, form: CheckedForm, session: SessionDep, settings: SettingsDep
) -> Response:
    if token := request.cookies.get(SESSION_COOKIE):
        accounts.close_session(session, token)
    response = redirect(settings, "/login", "已退出登录")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
