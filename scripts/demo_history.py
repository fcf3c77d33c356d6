"""Demo history `make run` gives the enforcement system once: a few administrative penalties an
officer decides on a fresh start, which reach the platform the way real ones do (the signed
callback), so the regulator's list and the index have something to count."""

import httpx

DEMO_DECISIONS = [
    {
        "school_id": "S371100002",
        "coach_id": "S371100002-K1",
        "city_code": "371100",
        "kind": "fine",
        "reason": "未按规定使用计时培训系统，虚报培训学时",
        "amount_fen": 500000,
    },
    {
        "school_id": "S371100003",
        "city_code": "371100",
        "kind": "warning",
        "reason": "教学车辆未按规定年检",
    },
]


def seed_penalties(enforcement_url: str) -> int:
    """Decides the demo penalties unless the enforcement system has decided any; how many."""
    with httpx.Client(base_url=enforcement_url, timeout=10) as http:
        if http.get("/penalties", params={"limit": 1}).json()["items"]:
            return 0
        for decision in DEMO_DECISIONS:
            http.post("/_simulate/penalties", json=decision).raise_for_status()
    return len(DEMO_DECISIONS)
