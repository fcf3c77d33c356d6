"""The registry: filed schools, their coaches, vehicles, training grounds, and health centres."""

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


class SchoolBase(SQLModel):
    name: str
    city_code: str = Field(index=True, max_length=6)
    district_code: str = Field(max_length=6)
    address: str
    lat: float
    lon: float
    phone: str
    filing_no: str  # 备案编号
    compliant: bool = True  # filed and not suspended: only these are offered to learners
    vehicle_classes: list[str] = Field(default_factory=list, sa_column=Column(JSON))


class School(SchoolBase, table=True):
    id: str = Field(primary_key=True, max_length=32)


class SchoolPublic(SchoolBase):
    id: str


class FeeSchedule(SQLModel, table=True):
    """A school's fee annex for one vehicle class, in the five categories of the model contract.

    Practical categories (simulator, field, road) are hourly rates at normal / peak / holiday.
    """

    school_id: str = Field(foreign_key="school.id", primary_key=True, max_length=32)
    vehicle_class: str = Field(primary_key=True, max_length=4)
    services_fen: int  # materials, insurance, filing (服务费)
    theory_fen: int  # 理论培训费, per contract
    simulator_rates_fen: list[int] = Field(sa_column=Column(JSON))  # [normal, peak, holiday]
    field_rates_fen: list[int] = Field(sa_column=Column(JSON))
    road_rates_fen: list[int] = Field(sa_column=Column(JSON))


class CoachBase(SQLModel):
    school_id: str = Field(foreign_key="school.id", index=True, max_length=32)
    name: str
    gender: str = Field(max_length=1)
    birth_year: int
    permitted_classes: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    years_teaching: int
    photo_url: str = ""
    active: bool = True


class Coach(CoachBase, table=True):
    id: str = Field(primary_key=True, max_length=32)


class CoachPublic(CoachBase):
    id: str


class Vehicle(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)
    school_id: str = Field(foreign_key="school.id", index=True, max_length=32)
    plate: str = Field(unique=True)
    vehicle_class: str = Field(max_length=4)
    kind: str = "car"  # car | simulator


class TrainingGround(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)
    school_id: str = Field(foreign_key="school.id", index=True, max_length=32)
    name: str
    address: str
    lat: float
    lon: float
    area_m2: int = 0  # 场地面积, as filed


class HealthCentreBase(SQLModel):
    name: str
    city_code: str = Field(index=True, max_length=6)
    address: str
    lat: float
    lon: float
    phone: str
    fee_fen: int


class HealthCentre(HealthCentreBase, table=True):
    id: str = Field(primary_key=True, max_length=32)


class HealthCentrePublic(HealthCentreBase):
    id: str
    distance_km: float | None = None
