"""Getting in through the pages: SMS codes for learners, passwords for staff, browser sessions,
real-name binding, and the accounts an administrator creates. Limits on codes and failed
sign-ins are counted in the database, so they hold across API processes.
"""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import status
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, func, select

from api.errors import ApiError, api_error, field_error
from api.journeys import bind_id_number
from core.config import Settings
from core.regions import is_region_code
from core.security import hash_password, signs_in
from models.registry import School
from models.users import Role, User
from models.web import AuthAttempt, SmsCode, WebSession

CODE_DIGITS = 6
SMS_SIGNATURE = "【学驾一件事】"


def utc_now() -> datetime:
    return datetime.now(UTC)


def _digest(settings: Settings, *parts: str) -> str:
    """Keyed, so a copy of the table does not give the codes away by trying all million."""
    return hmac.new(settings.jwt_secret.encode(), "\x00".join(parts).encode(), "sha256").hexdigest()


# ---- rate limits ------------------------------------------------------------------------------


def _count(session: Session, kind: str, subject: str, since: datetime) -> int:
    query = select(func.count()).where(
        AuthAttempt.kind == kind, AuthAttempt.subject == subject, AuthAttempt.at >= since
    )
    return session.exec(query).one()


def _too_many(minutes: int) -> ApiError:
    return api_error(
        status.HTTP_429_TOO_MANY_REQUESTS, f"操作过于频繁，请 {minutes} 分钟后再试", "rate_limited"
    )


def _note(session: Session, kind: str, subject: str) -> None:
    session.add(AuthAttempt(kind=kind, subject=subject[:64], at=utc_now()))


# ---- SMS codes --------------------------------------------------------------------------------


async def send_code(session: Session, settings: Settings, phone: str, address: str) -> None:
    """Sends a new one-time code to `phone` (any earlier one is void), within the limits."""
    now = utc_now()
    hour = now - timedelta(hours=1)
    interval = timedelta(seconds=settings.code_interval_seconds)
    if _count(session, "code_phone", phone, now - interval):
        raise _too_many(max(settings.code_interval_seconds // 60, 1))
    if (
        _count(session, "code_phone", phone, hour) >= settings.codes_per_phone_hour
        or _count(session, "code_ip", address, hour) >= settings.codes_per_address_hour
    ):
        raise _too_many(60)
    session.commit()  # the counts are read: no connection held while the gateway answers
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    text = f"{SMS_SIGNATURE}验证码 {code}，{settings.code_minutes} 分钟内有效，请勿告诉他人。"
    try:
        async with httpx.AsyncClient(timeout=settings.subsystem_timeout_seconds) as http:
            sent = await http.post(
                f"{settings.sms_url}/messages", json={"phone": phone, "text": text}
            )
            sent.raise_for_status()
    except httpx.HTTPError as exc:
        session.rollback()
        raise api_error(status.HTTP_503_SERVICE_UNAVAILABLE, "短信发送失败，请稍后重试") from exc
    session.exec(delete(SmsCode).where(col(SmsCode.phone) == phone))
    session.add(
        SmsCode(
            phone=phone,
            code_sha256=_digest(settings, phone, code),
            sent_at=now,
            expires_at=now + timedelta(minutes=settings.code_minutes),
        )
    )
    _note(session, "code_phone", phone)
    _note(session, "code_ip", address)
    session.commit()


def learner_by_code(session: Session, settings: Settings, phone: str, code: str) -> User:
    """The learner account of `phone` (made at its first sign-in) once `code` is the one sent;
    a code serves once, and a few wrong guesses void it."""
    wrong = field_error("code", "验证码错误或已失效，请重新获取", kind="code_invalid")
    sent = session.exec(select(SmsCode).where(SmsCode.phone == phone)).first()
    if sent is None or sent.used or sent.expires_at < utc_now():
        raise wrong
    if not hmac.compare_digest(sent.code_sha256, _digest(settings, phone, code)):
        sent.failed_attempts += 1
        if sent.failed_attempts >= settings.code_attempts:
            sent.used = True
        session.add(sent)
        session.commit()
        raise wrong
    sent.used = True
    session.add(sent)
    user = session.exec(select(User).where(User.phone == phone)).first()
    if user is None:
        user = User(
            id=f"U-m{secrets.token_hex(8)}",
            username=f"m{phone}",
            password_hash="!",  # no password: learners sign in with codes
            role=Role.learner,
            display_name=f"学员{phone[-4:]}",
            phone=phone,
        )
        session.add(user)
    session.commit()
    if not user.active:
        raise api_error(status.HTTP_403_FORBIDDEN, "该账户已停用", "account_disabled")
    return user


# ---- passwords (staff, regulators, administrators) ----------------------------------------


def user_by_password(
    session: Session, settings: Settings, username: str, password: str, address: str
) -> User:
    since = utc_now() - timedelta(minutes=settings.login_window_minutes)
    allowed = settings.login_failures_allowed
    if (
        _count(session, "login_user", username, since) >= allowed
        or _count(session, "login_ip", address, since) >= allowed * 10
    ):
        raise _too_many(settings.login_window_minutes)
    user = session.exec(select(User).where(User.username == username)).first()
    if (
        user is None
        or not user.active
        or not signs_in(password, user.password_hash, settings.demo_mode)
    ):
        _note(session, "login_user", username)
        _note(session, "login_ip", address)
        session.commit()
        raise api_error(status.HTTP_401_UNAUTHORIZED, "用户名或密码错误", "bad_credentials")
    return user


# ---- browser sessions -------------------------------------------------------------------------


def open_session(session: Session, settings: Settings, user: User) -> str:
    """A new session for `user`; the token goes in the cookie, only its hash in the table."""
    token = secrets.token_urlsafe(32)
    now = utc_now()
    session.add(
        WebSession(
            token_sha256=hashlib.sha256(token.encode()).hexdigest(),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(hours=settings.session_hours),
        )
    )
    session.commit()
    return token


def session_user(session: Session, token: str) -> User | None:
    row = session.get(WebSession, hashlib.sha256(token.encode()).hexdigest())
    if row is None or row.expires_at < utc_now():
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


def close_session(session: Session, token: str) -> None:
    digest = hashlib.sha256(token.encode()).hexdigest()
    session.exec(delete(WebSession).where(col(WebSession.token_sha256) == digest))
    session.commit()


# ---- real-name binding and accounts --------------------------------------------------------


def bind_real_name(session: Session, learner: User, name: str, id_number: str) -> None:
    """实名认证: the name and the (already checked) ID number become the account's, once."""
    if learner.real_name is not None and learner.real_name != name:
        raise field_error("name", "姓名与账户已认证的姓名不一致", kind="name_mismatch")
    bind_id_number(session, learner, id_number)
    learner.real_name = name
    learner.display_name = name
    session.add(learner)
    session.commit()


STAFF_ROLES = (Role.school_staff, Role.regulator, Role.admin)


def create_account(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str,
    school_id: str | None = None,
    region_code: str | None = None,
) -> User:
    """An account an administrator makes: school staff bound to a school, a regulator to a
    region. Learners are never made here (they sign themselves up)."""
    if role not in STAFF_ROLES:
        raise field_error("role", "只能创建驾校工作人员、监管部门或管理员账户", kind="role_invalid")
    if role is Role.school_staff and (school_id is None or session.get(School, school_id) is None):
        raise field_error("school_id", "没有此驾校", kind="unknown_school")
    if role is Role.regulator and not is_region_code(region_code or ""):
        raise field_error("region_code", "辖区代码须为 6 位行政区划代码", kind="region_invalid")
    user = User(
        id=f"U-{username}",
        username=username,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name,
        school_id=school_id if role is Role.school_staff else None,
        region_code=region_code if role is Role.regulator else None,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise field_error("username", "用户名已被使用", 409, kind="username_taken") from exc
    return user
