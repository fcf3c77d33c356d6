"""Adapter for the traffic police's 12123 exam system: eligibility and exam bookings.

Results come back as signed webhooks (api/routes/webhooks.py).
"""

from dataclasses import dataclass

from temporalio import activity

from activities.http import SubsystemClient, external_id


@dataclass
class Eligibility:
    request_id: str
    learner_no: str
    journey_ref: str
    subject: int
    vehicle_class: str
    school_id: str
    stage_report_id: str


@dataclass
class ExamBooking:
    booking_id: str
    learner_no: str
    subject: int
    exam_date: str
    venue: str


class ExamActivities:
    def __init__(self, client: SubsystemClient, callback_url: str) -> None:
        self._client = client
        self._callback_url = callback_url

    @activity.defn(name="exam.push_eligibility")
    async def push_eligibility(self, req: Eligibility) -> None:
        """Only an approved stage report gets here: 学时个个满，把住考试关."""
        body = {
            **vars(req),
            "request_id": external_id(req.request_id),
            "stage_report_id": external_id(req.stage_report_id),
        }
        await self._client.call("POST", "/eligibility", json=body)

    @activity.defn(name="exam.cancel")
    async def cancel(self, booking_id: str) -> None:
        """Frees the learner's exam place; 12123 refuses once a result exists."""
        await self._client.call("POST", f"/bookings/{booking_id}/cancel")

    @activity.defn(name="exam.book")
    async def book(self, req: ExamBooking) -> None:
        await self._client.call(
            "POST", "/bookings", json={**vars(req), "callback_url": self._callback_url}
        )
