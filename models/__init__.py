"""SQLModel tables; importing this package registers every table on SQLModel.metadata."""

from models.complaints import Complaint, Consultation
from models.evaluation import GraduateIncident, Penalty, Review, ReviewEdit
from models.idempotency import IdempotencyClaim
from models.journeys import JourneyRecord
from models.ledger import EntryKind, LedgerEntry
from models.registry import Coach, FeeSchedule, HealthCentre, School, TrainingGround, Vehicle
from models.training import (
    CoachLeave,
    LearnerDayLoad,
    ResourceHold,
    SlotBooking,
    TrainingSlot,
)
from models.users import Role, User
from models.web import AuthAttempt, SmsCode, WebSession

__all__ = [
    "AuthAttempt",
    "Coach",
    "CoachLeave",
    "Complaint",
    "Consultation",
    "EntryKind",
    "FeeSchedule",
    "GraduateIncident",
    "HealthCentre",
    "IdempotencyClaim",
    "JourneyRecord",
    "LearnerDayLoad",
    "LedgerEntry",
    "Penalty",
    "ResourceHold",
    "Review",
    "ReviewEdit",
    "Role",
    "School",
    "SlotBooking",
    "SmsCode",
    "TrainingGround",
    "TrainingSlot",
    "User",
    "Vehicle",
    "WebSession",
]
