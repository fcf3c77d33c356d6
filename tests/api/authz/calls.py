"""Requests built from the OpenAPI: each route called with every parameter and body field it
requires, valid, so that a refusal is the route's access rule and never its input check.

Fields that name a tenant (a journey, a complaint, a school, a city, ...) are filled from the
ids of one tenant: the victim's, or made-up ones that exist nowhere.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from api.main import create_app
from core.config import Settings
from evaluation.measures import MEASURES
from models.training import CHINA
from tests.e2e import signature_png

# A field of this name, in the path, the query or the body, names a tenant's record.
TENANT_FIELDS = {
    "wf_id": "journey",
    "journey_id": "journey",
    "complaint_id": "complaint",
    "consultation_id": "consultation",
    "review_id": "review",
    "slot_id": "slot",
    "coach_id": "coach",
    "vehicle_id": "vehicle",
    "ground_id": "ground",
    "school_id": "school",
    "city_code": "city",
}
MADE_UP = {
    "journey": "journey-U-nobody-S371100001-C1",
    "complaint": "CP-000000000000000000000000",
    "consultation": "CQ-000000000000000000000000",
    "review": "RV-nobody",
    "slot": "TS-nobody",
    "coach": "S371100001-K9",
    "vehicle": "S371100001-V9",
    "ground": "S371100001-G9",
    "school": "S379900009",
    "city": "379900",
}
_SOON = (datetime.now(CHINA) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
PATH_SAMPLES = {
    "kind": "certificate",
    "record_no": "R1",
    "booking_id": "B1",
    "measure": next(iter(MEASURES)),
}
SAMPLES: dict[str, Any] = {
    "name": "张三",
    "phone": "13800138000",
    "id_number": "11010519491231002X",
    "lat": 35.42,
    "lon": 119.52,
    "vehicle_class": "C1",
    "centre_id": "H371100001",
    "slot": "2030-01-02T09:00",
    "exam_date": "2030-01-02",
    "start": _SOON.isoformat(),
    "end": (_SOON + timedelta(hours=2)).isoformat(),
    "coach_stars": 5,
    "comment": "权限测试",
}
TEXT = "权限矩阵测试的说明文字"


def route_key(method: str, path: str) -> str:
    return f"{method.upper()} {path}"


def routes(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every (method, path) of the OpenAPI, as "METHOD /path", with its operation."""
    return {
        route_key(method, path): op
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    }


# The API's OpenAPI, as a client reads it: every route the tests call, and how.
APP = create_app(Settings(database_url="sqlite://"))
SPEC = APP.openapi()
ROUTES = sorted(routes(SPEC))


def request_for(spec: dict[str, Any], key: str, ids: Mapping[str, str]) -> dict[str, Any]:
    """httpx.request keyword arguments calling the route `key` with the tenant `ids`."""
    method, path = key.split(" ", 1)
    op = routes(spec)[key]
    params: dict[str, Any] = {}
    for p in op.get("parameters", []):
        name, where = p["name"], p["in"]
        if where == "path":
            tenant = TENANT_FIELDS.get(name)
            value = (
                ids[tenant]
                if tenant
                else PATH_SAMPLES.get(name) or _example(spec, p["schema"], name, ids)
            )
            path = path.replace("{" + name + "}", str(value))
        elif where == "query" and (p.get("required") or name in TENANT_FIELDS):
            params[name] = _example(spec, p["schema"], name, ids)
    call: dict[str, Any] = {"method": method, "url": path, "params": params}
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        call["json"] = _example(spec, content["application/json"]["schema"], "", ids)
    elif "multipart/form-data" in content:
        call["files"] = {"signature": ("signature.png", signature_png(), "image/png")}
    elif "application/x-www-form-urlencoded" in content:
        call["data"] = _example(
            spec, content["application/x-www-form-urlencoded"]["schema"], "", ids
        )
    elif path.startswith("/api/webhooks/"):
        call["content"] = b"{}"  # a callback without its signature
    return call


def _example(
    spec: dict[str, Any], schema: dict[str, Any], name: str, ids: Mapping[str, str]
) -> Any:
    if name in TENANT_FIELDS:
        return ids[TENANT_FIELDS[name]]
    if name in SAMPLES:
        return SAMPLES[name]
    schema = _resolved(spec, schema)
    if "anyOf" in schema:
        chosen = next(s for s in schema["anyOf"] if s.get("type") != "null")
        return _example(spec, chosen, name, ids)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        wanted = set(schema.get("required", [])) | set(TENANT_FIELDS) | set(SAMPLES)
        fields = schema.get("properties", {})
        return {k: _example(spec, s, k, ids) for k, s in fields.items() if k in wanted}
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    return TEXT


def _resolved(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema
