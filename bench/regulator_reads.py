"""4. Regulator reads on the journeys read model (models/journeys.py) at 10k and 100k journeys,
on SQLite and PostgreSQL 15, with each query's plan.

The reads a province's regulator makes: journeys of one school in one stage, how many active
journeys each stage holds, and the stuck list (active, longest in their stage first). The region
is the set of city codes its schools are in, as the governance port scopes its list. Each read's
p50/p99 is set against a primary-key read of one journey on the same database.

The schema is the migrations' own; rows are bulk-inserted into a database of the bench's own
(PostgreSQL is then analysed, as autovacuum would after such a load; SQLite is left as deployed).
"""

import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable
from sqlmodel import Session, col, select

from bench.stats import Figure, Latency, Target, latency_figures
from core.db import make_engine, migrate
from core.regions import region_covers
from models.journeys import JourneyRecord
from models.registry import School
from models.users import Role, User
from tests.servers import postgres_server

PROVINCE = "370000"  # 山东: the regulator whose reads are measured
CITIES = {
    "37": ("370100", "370200", "370300", "370600", "370700", "370800", "371000", "371100"),
    "35": ("350100", "350200", "350500", "350600"),
}
SCHOOLS_PER_CITY = 10
# How a province's journeys spread over the stages (weights), roughly as enrolment flows.
STAGE_WEIGHTS = {
    "signup": 1,
    "health_check": 3,
    "signing": 2,
    "contract": 1,
    "payment": 2,
    "theory": 15,
    "field": 20,
    "road": 25,
    "safety": 8,
    "graduation": 1,
    "followup": 4,
    "closed": 18,
}
TRAINING = ("theory", "field", "road", "safety")
STUCK_AFTER = timedelta(days=30)
LIST_LIMIT = 100


@cache
def schools() -> tuple[School, ...]:
    return tuple(
        School(
            id=f"S{city}{n:03d}",
            name=f"驾校{city}-{n}",
            city_code=city,
            district_code=city[:4] + "02",
            address="地址",
            lat=35.0,
            lon=119.0,
            phone="0633-0000000",
            filing_no=f"F{city}{n:03d}",
            compliant=True,
            vehicle_classes=["C1"],
        )
        for cities in CITIES.values()
        for city in cities
        for n in range(1, SCHOOLS_PER_CITY + 1)
    )


def journey_rows(first: int, count: int, now: datetime, rng: random.Random) -> Iterator[dict]:
    """Journeys `first`..`first + count - 1`, each its own learner, over every school."""
    ids = [s.id for s in schools()]
    stages, weights = list(STAGE_WEIGHTS), list(STAGE_WEIGHTS.values())
    for k in range(first, first + count):
        school = ids[k % len(ids)]
        stage = rng.choices(stages, weights)[0]
        entered = now - timedelta(seconds=rng.uniform(0, 120 * 86400))
        status = "active"
        if stage == "closed":
            status = rng.choices(["completed", "withdrawn", "failed"], [80, 15, 5])[0]
        yield {
            "workflow_id": f"journey-U-r{k}-{school}-C1",
            "learner_id": f"U-r{k}",
            "school_id": school,
            "city_code": school[1:7],
            "vehicle_class": "C1",
            "coach_id": f"{school}-K1",
            "stage": stage,
            "status": status,
            "waiting_on": "learner",
            "stage_entered_at": entered,
            "started_at": entered - timedelta(days=rng.uniform(0, 60)),
            "updated_at": entered,
            "learner_no": f"N{k:010d}",
            "version": 1,
        }


def seed(engine: Engine, first: int, count: int, rng: random.Random, batch: int = 5000) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        if first == 0:
            conn.execute(insert(School), [s.model_dump() for s in schools()])
        for start in range(first, first + count, batch):
            n = min(batch, first + count - start)
            users = [_learner(k) for k in range(start, start + n)]
            conn.execute(insert(User), users)
            conn.execute(insert(JourneyRecord), list(journey_rows(start, n, now, rng)))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE journeyrecord")


def _learner(k: int) -> dict[str, Any]:
    return {
        "id": f"U-r{k}",
        "username": f"r{k}",
        "password_hash": "-",
        "role": Role.learner,
        "display_name": "学员",
        "active": True,
    }


# ---- the reads --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    cities: list[str]
    schools: list[str]


def scope(region: str) -> Scope:
    inside = [s for s in schools() if region_covers(region, s.city_code)]
    return Scope(sorted({s.city_code for s in inside}), [s.id for s in inside])


def by_stage_and_school(sc: Scope, rng: random.Random) -> Any:
    return (
        select(JourneyRecord)
        .where(
            col(JourneyRecord.city_code).in_(sc.cities),
            col(JourneyRecord.school_id) == rng.choice(sc.schools),
            col(JourneyRecord.stage) == rng.choice(TRAINING),
        )
        .order_by(col(JourneyRecord.stage_entered_at))
        .limit(LIST_LIMIT)
    )


def counts_per_stage(sc: Scope, rng: random.Random) -> Any:
    return (
        select(JourneyRecord.stage, func.count())
        .where(col(JourneyRecord.city_code).in_(sc.cities), col(JourneyRecord.status) == "active")
        .group_by(col(JourneyRecord.stage))
    )


def stuck_list(sc: Scope, rng: random.Random) -> Any:
    cutoff = datetime.now(UTC) - STUCK_AFTER - timedelta(hours=rng.uniform(0, 48))
    return (
        select(JourneyRecord)
        .where(
            col(JourneyRecord.city_code).in_(sc.cities),
            col(JourneyRecord.status) == "active",
            col(JourneyRecord.stage_entered_at) < cutoff,
        )
        .order_by(col(JourneyRecord.stage_entered_at))
        .limit(LIST_LIMIT)
    )


READS: dict[str, Callable[[Scope, random.Random], Any]] = {
    "list by stage x school": by_stage_and_school,
    "counts per stage": counts_per_stage,
    "stuck list": stuck_list,
}


def one_journey(count: int, rng: random.Random) -> Any:
    k = rng.randrange(count)
    school = schools()[k % len(schools())].id
    return select(JourneyRecord).where(
        col(JourneyRecord.workflow_id) == f"journey-U-r{k}-{school}-C1"
    )


# ---- plans ------------------------------------------------------------------------------------


SQLITE_SCAN = re.compile(r"^SCAN journeyrecord$")  # SCAN … USING INDEX reads an index
PG_SCAN = "Seq Scan on journeyrecord"


class Explain(Executable, ClauseElement):
    """EXPLAIN (EXPLAIN QUERY PLAN on SQLite) of a statement, with its parameters bound."""

    inherit_cache = False

    def __init__(self, statement: Any) -> None:
        self.statement = statement


@compiles(Explain)
def _explain(element: Explain, compiler: Any, **kw: Any) -> str:
    prefix = "EXPLAIN QUERY PLAN " if compiler.dialect.name == "sqlite" else "EXPLAIN "
    return prefix + compiler.process(element.statement, **kw)


def plan(session: Session, statement: Any) -> list[str]:
    rows = session.connection().execute(Explain(statement)).all()
    if session.get_bind().dialect.name == "sqlite":
        return [row[-1] for row in rows]  # (id, parent, notused, detail)
    return [row[0] for row in rows]


def full_scans(lines: list[str]) -> list[str]:
    """The plan's lines that read the whole journeys table without an index."""
    return [ln for ln in lines if SQLITE_SCAN.match(ln.strip()) or PG_SCAN in ln]


def table_bytes(session: Session) -> int:
    """The journeys table with its indexes, on disk."""
    if session.get_bind().dialect.name == "sqlite":
        query = "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE '%journeyrecord%'"
    else:
        query = "SELECT pg_total_relation_size('journeyrecord')"
    return int(session.connection().exec_driver_sql(query).scalar_one())


# ---- measuring --------------------------------------------------------------------------------


def _latency(session: Session, make: Callable[[random.Random], Any], samples: int) -> Latency:
    rng = random.Random(7)
    seconds = []
    for _ in range(samples):
        statement = make(rng)
        began = time.perf_counter()
        session.exec(statement).all()
        seconds.append(time.perf_counter() - began)
    return Latency.of(seconds)


def measure_database(
    engine: Engine, db: str, sizes: tuple[int, ...], samples: int
) -> tuple[list[Figure], dict[str, Any]]:
    figures: list[Figure] = []
    plans: dict[str, Any] = {}
    sc = scope(PROVINCE)
    rng = random.Random(11)
    seeded = 0
    for size in sizes:
        seed(engine, seeded, size - seeded, rng)
        seeded = size
        with Session(engine) as session:
            by_key = partial(one_journey, size)
            _latency(session, by_key, 3)  # warm the cache
            baseline = _latency(session, by_key, samples)
            size_bytes = table_bytes(session)
            for name, read in READS.items():
                value = _latency(session, lambda r, read=read: read(sc, r), samples)
                lines = plan(session, read(sc, random.Random(1)))
                plans[f"{db} {size} {name}"] = {"plan": lines, "full_scans": full_scans(lines)}
                figures += latency_figures(
                    4,
                    f"read_{db}_{size}_{name.replace(' ', '_')}",
                    f"{name}, {db}, {size // 1000}k journeys",
                    value,
                    "primary-key read",
                    baseline,
                    targets={"p99": Target("<=", 100)},
                    detail={
                        "region": PROVINCE,
                        "scans_without_index": full_scans(lines),
                        "table_and_index_bytes_per_journey": round(size_bytes / size),
                    },
                )
    return figures, plans


@contextmanager
def databases(root: Path) -> Iterator[dict[str, Engine]]:
    """A fresh SQLite file and a fresh PostgreSQL 15 cluster, both at the newest migration."""
    with postgres_server() as pg_url:
        urls = {"sqlite": f"sqlite:///{root / 'reads.db'}", "postgres": pg_url}
        engines = {}
        for name, url in urls.items():
            migrate(url)
            engines[name] = make_engine(url)
        try:
            yield engines
        finally:
            for engine in engines.values():
                engine.dispose()


def measure(root: Path, sizes: tuple[int, ...], samples: int) -> tuple[list[Figure], dict]:
    figures: list[Figure] = []
    plans: dict[str, Any] = {}
    with databases(root) as engines:
        for db, engine in engines.items():
            found, seen = measure_database(engine, db, sizes, samples)
            figures += found
            plans.update(seen)
    return figures, plans


def explain_text(plans: dict[str, Any]) -> str:
    out = []
    for key, p in plans.items():
        flag = "  <-- no index: " + "; ".join(p["full_scans"]) if p["full_scans"] else ""
        out.append(f"{key}{flag}")
        out += [f"    {line}" for line in p["plan"]]
    return "\n".join(out)
