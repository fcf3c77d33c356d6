"""What the index's reads answer, for the regulator's and the learner's ports: a publication,
a school's published figures and its index mark, built from the stored publication."""

from datetime import datetime

from pydantic import BaseModel, Field

from evaluation.measures import SUBJECTS
from models.quality import IndexPublication, IndexSchoolScore


class PublicationInfo(BaseModel):
    id: str
    city_code: str
    as_of: datetime = Field(description="统计区间截止时间")
    window_start: datetime = Field(description="统计区间起始时间")
    computed_at: datetime
    trigger: str = Field(description="schedule（定时）| regulator（监管部门发起）| demo")
    policy_version: str
    schools: int


def publication_info(p: IndexPublication) -> PublicationInfo:
    return PublicationInfo.model_validate(p, from_attributes=True)


class IndexMark(BaseModel):
    """A school's level-1 result in one publication."""

    publication_id: str
    score: float | None = Field(description="综合服务质量评分（0–100）；无数据时为空")
    level: str | None = Field(description="信用等级 AAA / AA / A / B")
    rank: int | None
    red_list: bool = Field(description="红榜")
    black_list: bool = Field(description="黑榜")
    list_reason: str


def index_mark(row: IndexSchoolScore) -> IndexMark:
    return IndexMark.model_validate(row, from_attributes=True)


class Figures(BaseModel):
    """The level-2 figures shown for a school, over the publication's window."""

    pass_rates: dict[str, float | None] = Field(
        description="考试合格率（%，全部考试人次）：theory 科目一, field 科目二, road 科目三, "
        "safety 科目四；无考试时为空"
    )
    first_pass_rates: dict[str, float | None] = Field(description="首次考试合格率（%）")
    penalties: int = Field(description="行政处罚数")
    complaints: int = Field(description="投诉数")
    complaints_per_100: float | None = Field(description="每百名学员投诉数")
    satisfaction: float | None = Field(description="学员满意度（平均星级，1–5）")
    reviews: int = Field(description="评价数（含已隐藏文字的评价）")
    learners: int = Field(description="统计区间内在培学员数")
    violation_rate: float | None = Field(description="结业三年内学员每百人交通违法数")
    accident_rate: float | None = Field(description="结业三年内学员每百人交通事故数")


def figures(row: IndexSchoolScore) -> Figures:
    m, c = row.measures, row.counters
    return Figures(
        pass_rates={s: m.get(f"pass_rate_{s}") for s in SUBJECTS},
        first_pass_rates={s: m.get(f"first_pass_rate_{s}") for s in SUBJECTS},
        penalties=int(c.get("penalties", 0)),
        complaints=int(c.get("complaints", 0)),
        complaints_per_100=m.get("complaints_per_100"),
        satisfaction=m.get("satisfaction"),
        reviews=int(c.get("reviews", 0)),
        learners=int(c.get("learners", 0)),
        violation_rate=m.get("violation_rate"),
        accident_rate=m.get("accident_rate"),
    )
