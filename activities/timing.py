"""Adapter for the timing platform (计时平台): filing the people and cars a session involves.

Records come back the other way, as signed webhooks (api/routes/webhooks.py).
"""

from dataclasses import dataclass, field

from temporalio import activity

from activities.http import SubsystemClient


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
        """Files the learner, the coach and the vehicles; each filing is idempotent."""
        await self._client.call(
            "POST",
            "/learners",
            json={
                "request_id": f"learner:{req.learner_no}",
                "learner_no": req.learner_no,
                "school_id": req.school_id,
                "name": req.name,
                "vehicle_class": req.vehicle_class,
            },
        )
        await self._client.call(
            "POST",
            "/coaches",
            json={
                "request_id": f"coach:{req.coach_id}",
                "coach_id": req.coach_id,
                "school_id": req.school_id,
                "name": req.coach_name,
            },
        )
        for v in req.vehicles:
            await self._client.call(
                "POST",
                "/vehicles",
                json={
                    "request_id": f"vehicle:{v.vehicle_id}",
                    "vehicle_id": v.vehicle_id,
                    "plate": v.plate,
                    "school_id": req.school_id,
                },
            )
