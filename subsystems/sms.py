"""SMS gateway simulator (短信网关): the platform sends one-time sign-in codes through it.

The real gateway delivers a text to a phone; this one keeps every message, so the demo's
inbox page (GET /inbox) and tests (GET /messages?phone=) read the code a learner would get.
"""

import html
from typing import Annotated

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from subsystems.common import (
    JSON,
    SimDep,
    SimOptions,
    Store,
    business_router,
    create_simulator_app,
    utc_now_iso,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone TEXT NOT NULL,
    text TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_phone ON messages (phone, id);
"""
PHONE = r"^1[0-9]{10}$"
INBOX_SIZE = 50

router = business_router(tags=["sms"])


class OutgoingText(BaseModel):
    phone: Annotated[str, Field(pattern=PHONE)]
    text: Annotated[str, Field(min_length=1, max_length=300)]


@router.post("/messages", status_code=201)
async def send(sim: SimDep, msg: OutgoingText) -> JSON:
    with sim.store.tx() as conn:
        cur = conn.execute(
            "INSERT INTO messages (phone, text, sent_at) VALUES (?, ?, ?)",
            (msg.phone, msg.text, utc_now_iso()),
        )
    return {"id": cur.lastrowid, "status": "delivered"}


def _latest(sim: SimDep, phone: str | None) -> list[JSON]:
    where, params = ("WHERE phone = ?", (phone,)) if phone else ("", ())
    rows = sim.store.all(
        f"SELECT * FROM messages {where} ORDER BY id DESC LIMIT {INBOX_SIZE}", params
    )
    return [dict(r) for r in rows]


@router.get("/messages")
async def messages(
    sim: SimDep, phone: Annotated[str | None, Query(pattern=PHONE)] = None
) -> list[JSON]:
    """The latest messages, newest first (to one phone when `phone` is given)."""
    return _latest(sim, phone)


def inbox_page(sim: SimDep, phone: Annotated[str | None, Query(pattern=PHONE)] = None) -> str:
    rows = "".join(
        f"<li><b>{html.escape(m['phone'])}</b> <small>{html.escape(m['sent_at'])}</small>"
        f"<br>{html.escape(m['text'])}</li>"
        for m in _latest(sim, phone)
    )
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        "<title>短信收件箱（模拟）</title><style>body{font-family:sans-serif;max-width:32rem;"
        "margin:1rem auto;padding:0 1rem}li{margin:.6rem 0;list-style:none}</style></head>"
        f"<body><h1>短信收件箱（模拟）</h1><ul>{rows or '<li>暂无短信</li>'}</ul></body></html>"
    )


def create_app(db_path: str, secret: str, options: SimOptions | None = None) -> FastAPI:
    store = Store(db_path, SCHEMA)
    app = create_simulator_app("sms", "短信网关 (simulator)", store, secret, options)
    app.include_router(router)
    app.add_api_route("/inbox", inbox_page, response_class=HTMLResponse, methods=["GET"])
    return app
