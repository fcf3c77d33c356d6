"""SQLModel tables; importing this package registers every table on SQLModel.metadata."""

from models.complaints import Complaint, ComplaintEvent, Consultation
from models.evaluation import GraduateIncident, Penalty, Review, ReviewEdit
from models.evaluation_log import GraduateRecordCursor, PenaltyRefusal, ReviewModeration
from models.idempotency import IdempotencyClaim
from models.journeys import JourneyRecord
from models.ledger import EntryKind, LedgerEntry
from models.ops import ActivityTrouble, OpsAudit
from models.quality import (
    ExamAttempt,
    IndexCoachStats,
    IndexItemValue,
    IndexPublication,
    IndexSchoolScore,
)
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
from models.webhooks import WebhookNonce

__all__ = [
    "ActivityTrouble",
    "AuthAttempt",
    "Coach",
    "CoachLeave",
    "Complaint",
    "ComplaintEvent",
    "Consultation",
    "EntryKind",
    "ExamAttempt",
    "FeeSchedule",
    "GraduateIncident",
    "GraduateRecordCursor",
    "HealthCentre",
    "IdempotencyClaim",
    "IndexCoachStats",
    "IndexItemValue",
    "IndexPublication",
    "IndexSchoolScore",
    "JourneyRecord",
    "LearnerDayLoad",
    "LedgerEntry",
    "OpsAudit",
    "Penalty",
    "PenaltyRefusal",
    "ResourceHold",
    "Review",
    "ReviewEdit",
    "ReviewModeration",
    "Role",
    "School",
    "SlotBooking",
    "SmsCode",
    "TrainingGround",
    "TrainingSlot",
    "User",
    "Vehicle",
    "WebSession",
    "WebhookNonce",
]
