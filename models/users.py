"""Accounts and roles. A role is bound to its scope: a school, a region, or the learner itself."""

from enum import StrEnum

from sqlmodel import Field, SQLModel


class Role(StrEnum):
    learner = "learner"
    school_staff = "school_staff"
    regulator = "regulator"
    ops = "ops"
    admin = "admin"  # creates staff and regulator accounts (learners sign themselves up)


class User(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)
    username: str = Field(unique=True, index=True, max_length=64)
    password_hash: str
    role: Role
    display_name: str
    school_id: str | None = Field(default=None, foreign_key="school.id", max_length=32)
    region_code: str | None = Field(default=None, max_length=6)
    # A learner's ID number, bound at the first enrolment: one person per account and one
    # account per person, so nobody enrols in someone else's name.
    id_number: str | None = Field(default=None, unique=True, max_length=18)
    active: bool = True
    # A learner who signed up on the pages: the mobile number their codes go to, and the name
    # bound with the ID number at real-name binding (实名认证).
    phone: str | None = Field(default=None, unique=True, max_length=11)
    real_name: str | None = Field(default=None, max_length=50)


class Token(SQLModel):
    access_token: str
    token_type: str = "bearer"
    role: Role
