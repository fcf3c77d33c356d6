"""Adapter for the national driving-training platform (全国驾培平台)."""

from dataclasses import dataclass

from temporalio import activity

from activities.http import SubsystemClient


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


class NationalActivities:
    def __init__(self, client: SubsystemClient) -> None:
        self._client = client

    @activity.defn(name="national.register_learner")
    async def register_learner(self, req: RegisterLearner) -> str:
        """Files the learner and returns the unified learner number (全国统一编号)."""
        body = await self._client.call("POST", "/learners", json=vars(req))
        return str(body["learner_no"])

    @activity.defn(name="national.withdraw_learner")
    async def withdraw_learner(self, req: WithdrawLearner) -> None:
        await self._client.call(
            "POST", f"/learners/{req.learner_no}/withdraw", json={"request_id": req.request_id}
        )
