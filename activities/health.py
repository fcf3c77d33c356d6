"""Adapter for the health-check centres (体检中心): book a slot, pay its fee."""

from dataclasses import dataclass

from temporalio import activity

from activities.http import SubsystemClient


@dataclass
class BookHealthSlot:
    booking_id: str
    centre_id: str
    learner_ref: str  # the journey id: the centre's result callback names it
    name: str
    id_number: str
    slot: str
    fee_fen: int


class HealthActivities:
    def __init__(self, client: SubsystemClient, callback_url: str) -> None:
        self._client = client
        self._callback_url = callback_url

    @activity.defn(name="health.book_and_pay")
    async def book_and_pay(self, req: BookHealthSlot) -> None:
        """Books the slot and pays the centre's fee; both calls are idempotent on their ids."""
        await self._client.call(
            "POST", "/bookings", json={**vars(req), "callback_url": self._callback_url}
        )
        await self._client.call(
            "POST",
            f"/bookings/{req.booking_id}/pay",
            json={"payment_id": f"{req.booking_id}-fee", "amount_fen": req.fee_fen},
        )
