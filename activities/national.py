"""Adapter for the national driving-training platform (全国驾培平台)."""

from dataclasses import asdict, dataclass
from typing import Any

from temporalio import activity

from activities.http import SubsystemClient, external_id


@dataclass
class RegisterLearner:
    request_id: str
    school_id: str
    name: str
    id_number: str
    phone: str
    vehicle_class: str


@dataclass
class WithdrawLearner:
    request_id: str
    learner_no: str


@dataclass
class UploadRecord:
    request_id: str
    learner_no: str
    record_no: str
    subject: str
    valid_minutes: int


@dataclass
class Graduate:
    request_id: str
    learner_no: str
    certificate_no: str
    graduated_at: str


class NationalActivities:
    def __init__(self, client: SubsystemClient) -> None:
        self._client = client

    @activity.defn(name="national.register_learner")
    async def register_learner(self, req: RegisterLearner) -> str:
        """Files the learner and returns the unified learner number (全国统一编号)."""
        body = await self._client.call("POST", "/learners", json=_body(req))
        return str(body["learner_no"])

    @activity.defn(name="national.withdraw_learner")
    async def withdraw_learner(self, req: WithdrawLearner) -> None:
        await self._client.call(
            "POST",
            f"/learners/{req.learner_no}/withdraw",
            json={"request_id": external_id(req.request_id)},
        )

    @activity.defn(name="national.upload_record")
    async def upload_record(self, req: UploadRecord) -> None:
        """Reports a confirmed training record (学时) to the national platform."""
        await self._client.call("POST", "/training-records", json=_body(req))

    @activity.defn(name="national.graduate")
    async def graduate(self, req: Graduate) -> None:
        await self._client.call("POST", "/graduations", json=_body(req))


def _body(req: RegisterLearner | UploadRecord | Graduate) -> dict[str, Any]:
    # The journey's keys name the workflow and the record; the platform takes at most 64.
    return {**asdict(req), "request_id": external_id(req.request_id)}
