"""The three ports as pages (issue 11): 日照学车 for learners, the school console, the regulator
dashboard, and the administrator's accounts page. Server-rendered (templates/pages/), on the
same service functions as the JSON API; static files from the repository only."""

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.pages import admin, gov, learner, learner_inbox, ops, school, signin, timetable
from api.pages.web import CsrfRefused, LoginRequired, PageForbidden, explain, render, visitor
from core.config import ROOT
from core.db import engine_for
from models.users import Role

PAGE_PREFIXES = ("/learner", "/school", "/gov", "/admin", "/ops", "/login", "/signup", "/logout")


def install_pages(app: FastAPI) -> None:
    for module in (signin, learner, learner_inbox, school, timetable, gov, admin, ops):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
    api_errors = app.exception_handlers[StarletteHTTPException]

    async def on_login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        to = "/signup" if exc.role is Role.learner else "/login"
        return RedirectResponse(f"{to}?next={exc.path}", status_code=303)

    async def error_page(request: Request, status: int, heading: str, message: str) -> Response:
        engine = engine_for(request.app.state.settings.database_url)
        with Session(engine, expire_on_commit=False) as session:
            who = await visitor(request, session)
        return render(request, who, "error.html", status, heading=heading, message=message)

    async def on_forbidden(request: Request, exc: Exception) -> Response:
        return await error_page(request, 403, "无权访问", "此页面不属于您的账户角色。")

    async def on_csrf(request: Request, exc: Exception) -> Response:
        return await error_page(request, 403, "页面已过期", "请返回上一页，刷新后重新提交。")

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not request.url.path.startswith(PAGE_PREFIXES):
            return await api_errors(request, exc)
        return await error_page(request, exc.status_code, "无法完成", explain(exc))

    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(PageForbidden, on_forbidden)
    app.add_exception_handler(CsrfRefused, on_csrf)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
