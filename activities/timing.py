"""Adapter for the timing platform (计时平台): filing the people and cars a session involves.

Records come back the other way, as signed webhooks (api/routes/webhooks.py).
"""

import hashlib
import json
from dataclasses import dataclass, field

from temporalio import activity

from activities.http import SubsystemClient, external_id


@dataclass
class FiledVehicle:
    vehicle_id: str
    plate: str


@dataclass
class FileParties:
    learner_no: str
    school_id: str
    name: str
    vehicle_class: str
    coach_id: str
    coach_name: str
    vehicles: list[FiledVehicle] = field(default_factory=list)


class TimingActivities:
    def __init__(self, client: SubsystemClient) -> None:
        self._client = client

    @activity.defn(name="timing.file_parties")
    async def file_parties(self, req: FileParties) -> None:
        """Files the learner, the coach and the vehicles; each filing is idempotent, and a
        changed one (another school or class, a renamed coach) is filed again as a change."""
        filings = [
            (
                "/learners",
                "learner",
                req.learner_no,
                {
                    "learner_no": req.learner_no,
                    "school_id": req.school_id,
                    "name": req.name,
                    "vehicle_class": req.vehicle_class,
                },
            ),
            (
                "/coaches",
                "coach",
                req.coach_id,
                {"coach_id": req.coach_id, "school_id": req.school_id, "name": req.coach_name},
            ),
        ]
        for v in req.vehicles:
            body = {"vehicle_id": v.vehicle_id, "plate": v.plate, "school_id": req.school_id}
            filings.append(("/vehicles", "vehicle", v.vehicle_id, body))
        for path, kind, ident, body in filings:
            await self._client.call(
                "POST", path, json={"request_id": _filing_id(kind, ident, body), **body}
            )


def _filing_id(kind: str, ident: str, body: dict[str, str]) -> str:
    """The same filing always has the same request id; a changed one gets a new one."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
    return external_id(f"{kind}:{ident}:{digest}")
