"""The service-quality index's own tables (issue 10): exam attempts as the statistics count
them, and every publication of the index with its per-school scores, its per-item values and
the inputs behind each, and the per-coach statistics of the same run.

A publication is never changed once stored, so history and rank changes can be shown and every
published number traced; the school list reads the latest one instead of recomputing.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel


class ExamAttempt(SQLModel, table=True):
    """One 12123 exam result of a journey, taken from its timeline as the journey's projection
    writes it (activities/records.py): the timeline entry's place is the attempt's key."""

    __tablename__ = "exam_attempt"
    __table_args__ = (
        # Covers the statistics' grouped counts: they read the index alone.
        sa.Index(
            "ix_exam_attempt_city_code_examined_at",
            "city_code",
            "examined_at",
            "school_id",
            "subject",
            "passed",
            "first",
            "workflow_id",
        ),
        sa.Index("ix_exam_attempt_coach_id_examined_at", "coach_id", "examined_at"),
    )

    workflow_id: str = Field(primary_key=True, max_length=128)
    seq: int = Field(primary_key=True)
    learner_id: str = Field(max_length=32)
    school_id: str = Field(max_length=32)
    coach_id: str = Field(max_length=32)
    city_code: str = Field(max_length=6)
    subject: str = Field(max_length=8)  # theory | field | road | safety
    passed: bool
    first: bool  # the journey's first result in this subject
    exam_date: str = Field(max_length=10)  # as 12123 reported it
    examined_at: datetime  # when the result reached the journey


class IndexPublication(SQLModel, table=True):
    __tablename__ = "index_publication"
    __table_args__ = (sa.Index("ix_index_publication_city_code_as_of", "city_code", "as_of"),)

    id: str = Field(primary_key=True, max_length=160)  # the recompute's workflow id
    city_code: str = Field(max_length=6)
    as_of: datetime  # the statistics' window ends here
    window_start: datetime
    computed_at: datetime
    trigger: str = Field(max_length=16)  # schedule | regulator | demo
    requested_by: str = Field(default="", max_length=32)
    policy_version: str = Field(max_length=32)
    rules: dict = Field(sa_column=Column(JSON, nullable=False))  # the QualityIndex applied
    schools: int  # schools ranked or listed in it


class IndexSchoolScore(SQLModel, table=True):
    """A school's level-1 score in one publication, its level, rank and list mark, and every
    measure of its statistics with the counters behind them (the school list's figures)."""

    __tablename__ = "index_school_score"
    __table_args__ = (sa.Index("ix_index_school_score_school_id", "school_id"),)

    publication_id: str = Field(
        foreign_key="index_publication.id", primary_key=True, max_length=160
    )
    school_id: str = Field(primary_key=True, max_length=32)
    score: float | None = None  # None: no item had data
    level: str | None = Field(default=None, max_length=4)
    rank: int | None = None
    red_list: bool = False
    black_list: bool = False
    list_reason: str = Field(default="", max_length=200)
    counters: dict = Field(sa_column=Column(JSON, nullable=False))
    measures: dict = Field(sa_column=Column(JSON, nullable=False))  # name -> value or None


class IndexItemValue(SQLModel, table=True):
    """One published level-2 item of one school: its value, the inputs it came from, and how it
    was normalised and weighted into the score."""

    __tablename__ = "index_item_value"

    publication_id: str = Field(
        foreign_key="index_publication.id", primary_key=True, max_length=160
    )
    school_id: str = Field(primary_key=True, max_length=32)
    measure: str = Field(primary_key=True, max_length=40)
    value: float | None = None  # None: no data (the denominator was zero); the item is left out
    numerator: float
    denominator: float | None = None
    method: str = Field(max_length=16)  # min_max | target
    low: float | None = None  # min_max: the city's worst value; target: `worst`
    high: float | None = None  # min_max: the city's best value; target: `best`
    normalised: float | None = None  # 0..1
    weight: float
    points: float | None = None  # weight x normalised / the weights that applied x 100


class IndexCoachStats(SQLModel, table=True):
    """A coach's statistics over the same window, kept with the publication for the list."""

    __tablename__ = "index_coach_stats"
    __table_args__ = (sa.Index("ix_index_coach_stats_school_id", "publication_id", "school_id"),)

    publication_id: str = Field(
        foreign_key="index_publication.id", primary_key=True, max_length=160
    )
    coach_id: str = Field(primary_key=True, max_length=32)
    school_id: str = Field(max_length=32)
    learners_taught: int  # every learner who has trained with the coach
    complaints: int
    penalties: int
    reviews: int
    stars: int  # the reviews' coach stars, summed
