"""The index's one activity: compute and store a publication under the city's rules as its
policy file says now (read at every run, so an edited file counts from the next one)."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.http import BUSINESS_REJECTION
from evaluation.publish import publish
from policy.loader import load_quality_indexes


@dataclass
class PublishIndex:
    publication_id: str  # the idempotency key: the recompute's workflow id
    city_code: str
    as_of: datetime
    trigger: str
    requested_by: str = ""


@dataclass
class IndexPublished:
    publication_id: str
    as_of: datetime
    schools: int


class IndexActivities:
    def __init__(self, engine: Engine, policy_paths: list[Path]) -> None:
        self._engine = engine
        self._policy_paths = policy_paths

    @activity.defn(name="index.publish")
    def publish(self, job: PublishIndex) -> IndexPublished:
        rules = load_quality_indexes(self._policy_paths).get(job.city_code)
        if rules is None:
            raise ApplicationError(
                f"城市 {job.city_code} 的政策文件未设置服务质量指数规则",
                type=BUSINESS_REJECTION,
                non_retryable=True,
            )
        with Session(self._engine) as session:
            p = publish(
                session,
                job.publication_id,
                job.city_code,
                rules,
                job.as_of,
                job.trigger,
                job.requested_by,
            )
            return IndexPublished(p.id, p.as_of, p.schools)
