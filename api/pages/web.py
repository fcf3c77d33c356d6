"""The pages' plumbing: templates, the session cookie, CSRF tokens on forms, flash messages,
and the signed-in person by port.

A page session is a random token in an HttpOnly, SameSite=Lax cookie (the table keeps its
hash: api/accounts.py). Every form carries a CSRF token, an HMAC of the session token (or,
before signing in, of a visitor cookie), checked on every POST; and a fresh form key, sent as
the journey action's idempotency key, so a double submit of one form is one action.
"""

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData
from temporalio.client import Client

from api.accounts import session_user
from api.deps import SessionDep, SettingsDep, get_temporal
from api.errors import problems
from api.idempotency import KEY_PATTERN, Idempotency
from core.config import ROOT, Settings
from core.masking import mask_id_number
from models.training import CHINA
from models.users import Role, User
from workflows.journey_state import STAGE_NAMES, Stage

TEMPLATES = Jinja2Templates(directory=ROOT / "templates" / "pages")
SESSION_COOKIE = "xj_session"
VISITOR_COOKIE = "xj_visitor"
FLASH_COOKIE = "xj_flash"
HOME = {
    Role.learner: "/learner",
    Role.school_staff: "/school",
    Role.regulator: "/gov",
    Role.admin: "/admin",
    Role.ops: "/ops",
}


def yuan(fen: int | None) -> str:
    return "—" if fen is None else f"¥{fen // 100:,}.{fen % 100:02d}"


def china(moment: datetime) -> datetime:
    """A stored moment (UTC; SQLite gives it back naive) in China time, as people read it."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(CHINA)


TEMPLATES.env.filters["yuan"] = yuan
TEMPLATES.env.filters["cn"] = lambda moment, fmt="%m-%d %H:%M": china(moment).strftime(fmt)
TEMPLATES.env.filters["mask_id"] = mask_id_number
TEMPLATES.env.filters["stage_name"] = lambda s: STAGE_NAMES.get(Stage(s), s) if s else "—"
TEMPLATES.env.globals["form_key"] = lambda: uuid.uuid4().hex


@dataclass
class Visitor:
    """Who is asking: a signed-in user (with their session token) or an anonymous visitor."""

    user: User | None
    session_token: str | None
    visitor_id: str
    new_visitor: bool

    def csrf(self, settings: Settings) -> str:
        basis = f"s:{self.session_token}" if self.user else f"v:{self.visitor_id}"
        return hmac.new(settings.jwt_secret.encode(), basis.encode(), "sha256").hexdigest()


async def visitor(request: Request, session: SessionDep) -> Visitor:
    token = request.cookies.get(SESSION_COOKIE)
    user = session_user(session, token) if token else None
    session.commit()
    known = request.cookies.get(VISITOR_COOKIE)
    return Visitor(user, token if user else None, known or secrets.token_urlsafe(16), not known)


VisitorDep = Annotated[Visitor, Depends(visitor)]


class LoginRequired(Exception):
    def __init__(self, role: Role, path: str) -> None:
        self.role, self.path = role, path


class PageForbidden(Exception):
    pass


def signed_in(role: Role) -> Callable[[Request, Visitor], Awaitable[User]]:
    """A page of `role`'s port: others are sent to sign in, or refused."""

    async def check(request: Request, who: VisitorDep) -> User:
        if who.user is None:
            raise LoginRequired(role, request.url.path)
        if who.user.role is not role:
            raise PageForbidden()
        return who.user

    return check


LearnerPage = Annotated[User, Depends(signed_in(Role.learner))]
StaffPage = Annotated[User, Depends(signed_in(Role.school_staff))]
RegulatorPage = Annotated[User, Depends(signed_in(Role.regulator))]
AdminPage = Annotated[User, Depends(signed_in(Role.admin))]
OpsPage = Annotated[User, Depends(signed_in(Role.ops))]


class CsrfRefused(Exception):
    pass


async def checked_form(request: Request, who: VisitorDep, settings: SettingsDep) -> FormData:
    """The POSTed form, once its CSRF token is this visitor's."""
    form = await request.form()
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, who.csrf(settings)):
        raise CsrfRefused()
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def form_idempotency(session: Session, user: User, form: FormData) -> Idempotency:
    key = field(form, "form_key")
    return Idempotency(session, user, key if re.fullmatch(KEY_PATTERN, key) else None)


def validation_message(exc: ValidationError) -> str:
    return "；".join(p["msg"] for p in problems(exc.errors()))


@dataclass
class Posted:
    """A page's POST, checked (signed in with the port's role, this visitor's CSRF token): who
    sent it, their form, and what acting on it needs."""

    request: Request
    user: User
    form: FormData
    session: Session
    settings: Settings

    @property
    def key(self) -> Idempotency:
        """The form's key as the action's idempotency key: a double submit is one action."""
        return form_idempotency(self.session, self.user, self.form)

    def field(self, name: str) -> str:
        return field(self.form, name)

    def text(self, name: str, kind: Any, missing: str) -> str:
        """A field people write (a reason, an answer), checked as the JSON API checks it."""
        try:
            return str(TypeAdapter(kind).validate_python(self.field(name)))
        except ValidationError as exc:
            raise HTTPException(422, missing) from exc

    async def temporal(self) -> Client:
        return await get_temporal(self.request)

    async def act(self, back: str, done: str, action: Callable[[], Awaitable[object]]) -> Response:
        """Runs the action; back to `back` with `done`, or with why it was refused."""
        try:
            await action()
        except ValidationError as exc:
            return redirect(self.settings, back, validation_message(exc), ok=False)
        except HTTPException as exc:
            return redirect(self.settings, back, explain(exc), ok=False)
        return redirect(self.settings, back, done)


def posted(role: Role) -> Callable[..., Awaitable[Posted]]:
    async def build(
        request: Request,
        user: Annotated[User, Depends(signed_in(role))],
        form: CheckedForm,
        session: SessionDep,
        settings: SettingsDep,
    ) -> Posted:
        return Posted(request, user, form, session, settings)

    return build


LearnerPost = Annotated[Posted, Depends(posted(Role.learner))]
StaffPost = Annotated[Posted, Depends(posted(Role.school_staff))]
RegulatorPost = Annotated[Posted, Depends(posted(Role.regulator))]
OpsPost = Annotated[Posted, Depends(posted(Role.ops))]


# ---- flash messages -----------------------------------------------------------------------


def _flash_mac(settings: Settings, text: str) -> str:
    digest = hmac.new(settings.jwt_secret.encode(), f"flash:{text}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def redirect(settings: Settings, url: str, message: str = "", ok: bool = True) -> Response:
    """After a POST: to `url`, with a one-time message for the next page."""
    response = RedirectResponse(url, status_code=303)
    if message:
        text = ("ok:" if ok else "err:") + message
        value = base64.urlsafe_b64encode(text.encode()).decode() + "." + _flash_mac(settings, text)
        response.set_cookie(FLASH_COOKIE, value, httponly=True, samesite="lax", path="/")
    return response


def _read_flash(request: Request, settings: Settings) -> tuple[bool, str] | None:
    raw = request.cookies.get(FLASH_COOKIE, "")
    body, _, mac = raw.partition(".")
    try:
        text = base64.urlsafe_b64decode(body.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not mac or not hmac.compare_digest(mac, _flash_mac(settings, text)):
        return None
    kind, _, message = text.partition(":")
    return kind == "ok", message


def explain(exc: HTTPException) -> str:
    """What a refusal says, for a person: the sentence, or each field's message."""
    detail = exc.detail
    if isinstance(detail, list):
        return "；".join(str(p.get("msg", "")) for p in detail if isinstance(p, dict))
    return str(detail)


def city_title(request: Request, city_code: str | None = None) -> str:
    """The learner port's name after the city, as the guideline has it (日照学车)."""
    policies = request.app.state.policies
    policy = policies.get(city_code) if city_code else None
    policy = policy or next(iter(policies.values()), None)
    return f"{policy.city_name.removesuffix('市')}学车" if policy else "学驾一件事"


def render(
    request: Request,
    who: Visitor,
    template: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    flash = _read_flash(request, settings)
    context.setdefault("title", city_title(request))
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {"user": who.user, "csrf": who.csrf(settings), "flash": flash, **context},
        status_code=status_code,
    )
    if who.new_visitor:
        response.set_cookie(
            VISITOR_COOKIE,
            who.visitor_id,
            httponly=True,
            samesite="lax",
            secure=settings.cookie_secure,
            path="/",
        )
    if flash is not None or FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
