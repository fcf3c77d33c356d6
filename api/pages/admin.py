"""The administrator's page: staff and regulator accounts are made here, never self-service
(learners sign themselves up with their mobile number)."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, StringConstraints, ValidationError
from sqlmodel import col, select

from api import accounts
from api.deps import SessionDep, SettingsDep
from api.errors import problems
from api.inputs import Id
from api.pages.web import AdminPage, CheckedForm, VisitorDep, explain, field, redirect, render
from models.registry import School
from models.users import Role, User

router = APIRouter(prefix="/admin", include_in_schema=False)
ROLE_LABELS = {Role.school_staff: "驾校工作人员", Role.regulator: "监管部门", Role.admin: "管理员"}


class NewAccount(BaseModel):
    username: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{3,32}$")]
    password: Annotated[str, Field(min_length=8, max_length=128)]
    display_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=50)
    ]
    role: Role
    school_id: Id | None = None
    region_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] | None = None


def _page(
    request: Request, who: VisitorDep, session: SessionDep, status: int = 200, **extra: object
) -> HTMLResponse:
    users = session.exec(
        select(User).where(col(User.role).in_(list(ROLE_LABELS))).order_by(User.username)
    ).all()
    schools = session.exec(select(School).order_by(School.id)).all()
    session.commit()
    return render(
        request,
        who,
        "admin/accounts.html",
        status,
        title="平台管理 · 账户",
        users=users,
        schools=schools,
        roles=ROLE_LABELS,
        **extra,
    )


@router.get("")
def accounts_page(
    request: Request, who: VisitorDep, _: AdminPage, session: SessionDep
) -> HTMLResponse:
    return _page(request, who, session)


@router.post("/accounts")
def create_account(
    request: Request,
    who: VisitorDep,
    _: AdminPage,
    form: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    try:
        new = NewAccount(
            username=field(form, "username"),
            password=field(form, "password"),
            display_name=field(form, "display_name"),
            role=field(form, "role"),
            school_id=field(form, "school_id") or None,
            region_code=field(form, "region_code") or None,
        )
        user = accounts.create_account(session, **new.model_dump())
    except ValidationError as exc:
        error = "；".join(f"{p['loc'][-1]}：{p['msg']}" for p in problems(exc.errors()))
        return _page(request, who, session, 422, error=error)
    except HTTPException as exc:
        return _page(request, who, session, exc.status_code, error=explain(exc))
    return redirect(settings, "/admin", f"已创建账户 {user.username}")
