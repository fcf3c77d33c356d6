"""Demo data: Rizhao (日照) with several filed schools, one Fuzhou school, and one account per
role. Loading is idempotent: rows that exist are left as they are, so data survives restarts."""

from sqlmodel import Session, SQLModel

from core.config import DEMO_PASSWORD
from core.security import hash_password
from models.registry import Coach, FeeSchedule, HealthCentre, School, TrainingGround, Vehicle
from models.users import Role, User


def _schools() -> list[School]:
    return [
        School(
            id="S371100001",
            name="日照安达驾驶培训学校",
            city_code="371100",
            district_code="371102",
            address="日照市东港区海曲中路88号",
            lat=35.4164,
            lon=119.5269,
            phone="0633-8210001",
            filing_no="RZJP2021001",
            vehicle_classes=["C1", "C2"],
        ),
        School(
            id="S371100002",
            name="日照港城机动车驾驶员培训有限公司",
            city_code="371100",
            district_code="371103",
            address="日照市岚山区岚山中路16号",
            lat=35.1220,
            lon=119.3180,
            phone="0633-8210002",
            filing_no="RZJP2021002",
            vehicle_classes=["C1"],
        ),
        School(
            id="S371100003",
            name="日照鲁东驾校",
            city_code="371100",
            district_code="371121",
            address="日照市五莲县人民路5号",
            lat=35.7500,
            lon=119.2080,
            phone="0633-8210003",
            filing_no="RZJP2022003",
            vehicle_classes=["C1", "C2"],
        ),
        School(
            id="S350100001",
            name="福州闽江驾驶培训学校",
            city_code="350100",
            district_code="350102",
            address="福州市鼓楼区五四路120号",
            lat=26.0870,
            lon=119.3030,
            phone="0591-8760001",
            filing_no="FZJP2020001",
            vehicle_classes=["C1", "C2"],
        ),
    ]


def _fees(school_id: str, cls: str, bump: int) -> FeeSchedule:
    return FeeSchedule(
        school_id=school_id,
        vehicle_class=cls,
        services_fen=30000 + bump,
        theory_fen=40000 + bump,
        simulator_rates_fen=[6000, 7000, 8000],
        field_rates_fen=[12000 + bump, 14000 + bump, 16000 + bump],
        road_rates_fen=[13000 + bump, 15000 + bump, 17000 + bump],
    )


def demo_ground_area(i: int) -> int:
    """The i-th demo school's filed training-ground area (m²)."""
    return 32000 + 6000 * i


def _registry() -> list[SQLModel]:
    schools = _schools()
    rows: list[SQLModel] = list(schools)
    names = ["王建国", "李春梅", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽"]
    for i, school in enumerate(schools):
        sid = school.id
        for cls in school.vehicle_classes:
            rows.append(_fees(sid, cls, bump=1000 * i))
        for j in range(2):
            rows.append(
                Coach(
                    id=f"{sid}-K{j + 1}",
                    school_id=sid,
                    name=names[(2 * i + j) % 8],
                    gender="M" if j == 0 else "F",
                    birth_year=1975 + 3 * i + j,
                    permitted_classes=school.vehicle_classes if j == 0 else ["C1"],
                    years_teaching=8 + i - j,
                )
            )
            rows.append(
                Vehicle(
                    id=f"{sid}-V{j + 1}",
                    school_id=sid,
                    plate=f"鲁L{i}{j}{i}{j}9学" if sid.startswith("S37") else f"闽A{i}{j}{i}{j}9学",
                    vehicle_class="C1",
                )
            )
        rows.append(
            Vehicle(
                id=f"{sid}-SIM1",
                school_id=sid,
                plate=f"SIM-{sid}",
                vehicle_class="C1",
                kind="simulator",
            )
        )
        rows.append(
            TrainingGround(
                id=f"{sid}-G1",
                school_id=sid,
                name=f"{school.name}训练场",
                address=school.address,
                lat=school.lat + 0.01,
                lon=school.lon + 0.01,
                area_m2=demo_ground_area(i),
            )
        )
    rows += [
        HealthCentre(
            id="H371100001",
            name="日照市人民医院体检中心",
            city_code="371100",
            address="日照市东港区泰安路126号",
            lat=35.4200,
            lon=119.5100,
            phone="0633-8220001",
            fee_fen=6000,
        ),
        HealthCentre(
            id="H371100002",
            name="日照市中医医院驾驶员体检站",
            city_code="371100",
            address="日照市东港区烟台路35号",
            lat=35.3900,
            lon=119.5400,
            phone="0633-8220002",
            fee_fen=5000,
        ),
        HealthCentre(
            id="H371100003",
            name="五莲县人民医院体检科",
            city_code="371100",
            address="五莲县解放路1号",
            lat=35.7520,
            lon=119.2100,
            phone="0633-8220003",
            fee_fen=4500,
        ),
        HealthCentre(
            id="H350100001",
            name="福州市第一医院体检中心",
            city_code="350100",
            address="福州市台江区交通路190号",
            lat=26.0600,
            lon=119.3100,
            phone="0591-8220001",
            fee_fen=6000,
        ),
    ]
    return rows


def _users() -> list[tuple[str, Role, str, dict[str, str]]]:
    return [
        ("learner1", Role.learner, "学员一", {}),
        ("learner2", Role.learner, "学员二", {}),
        ("school1", Role.school_staff, "安达驾校管理员", {"school_id": "S371100001"}),
        ("school2", Role.school_staff, "港城驾校管理员", {"school_id": "S371100002"}),
        ("school_fz", Role.school_staff, "闽江驾校管理员", {"school_id": "S350100001"}),
        ("rizhao", Role.regulator, "日照市交通运输局", {"region_code": "371100"}),
        ("shandong", Role.regulator, "山东省交通运输厅", {"region_code": "370000"}),
        ("fuzhou", Role.regulator, "福州市交通运输局", {"region_code": "350100"}),
        ("ops", Role.ops, "平台运维", {}),
        ("admin", Role.admin, "平台管理员", {}),
    ]


DEMO_LOGINS = [(name, role.value, display) for name, role, display, _ in _users()]


def load_demo_data(session: Session) -> None:
    for row in _registry():
        pk = row.__mapper__.primary_key_from_instance(row)  # type: ignore[attr-defined]
        if session.get(type(row), pk if len(pk) > 1 else pk[0]) is None:
            session.add(row)
    session.flush()
    for username, role, display, scope in _users():
        if session.get(User, f"U-{username}") is None:
            session.add(
                User(
                    id=f"U-{username}",
                    username=username,
                    role=role,
                    display_name=display,
                    password_hash=hash_password(DEMO_PASSWORD),
                    **scope,
                )
            )
    session.commit()
