"""SQLModel tables; importing this package registers every table on SQLModel.metadata."""

from models.journeys import JourneyRecord
from models.ledger import EntryKind, LedgerEntry
from models.registry import Coach, FeeSchedule, HealthCentre, School, TrainingGround, Vehicle
from models.users import Role, User

__all__ = [
    "Coach",
    "EntryKind",
    "FeeSchedule",
    "HealthCentre",
    "JourneyRecord",
    "LedgerEntry",
    "Role",
    "School",
    "TrainingGround",
    "User",
    "Vehicle",
]
