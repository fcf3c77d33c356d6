"""The graduation archive (登记表, 教学日志, 培训记录, 结业证书), checked with poppler."""

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from temporalio.converter import DataConverter
from temporalio.testing import ActivityEnvironment

from activities.documents import (
    DocumentActivities,
    DocumentStore,
    certificate_markup,
    format_minutes,
    render_archive_pdfs,
    render_certificate_pdf,
    render_teaching_log_pdf,
    render_training_records_pdf,
    sha256_hex,
)
from tests.activities.test_documents import fonts, images, poppler, squeezed, text
from workflows.documents_data import (
    ArchiveData,
    ArchiveDocuments,
    HealthCheckEntry,
    LearnerParty,
    RenderArchive,
    SchoolParty,
    SubjectSummary,
    TrainingRecordLine,
)

ID_NUMBER = "11010519900307002X"
MASKED_ID = "110105********002X"
CONTRACT_SHA = "3f" * 32
TERMINAL = "3711000000000042"
LOG_HEADER = "学时记录编号"

# (subject, mode, minutes, rate per hour in fen), one lesson a day, cycling
_PLAN = [
    ("theory", "classroom", 60, 0),
    ("theory", "remote", 45, 0),
    ("field", "simulator", 60, 6000),
    ("field", "practical", 60, 12000),
    ("road", "practical", 90, 13000),
    ("safety", "classroom", 60, 0),
]


def training_records(count: int) -> list[TrainingRecordLine]:
    """`count` deterministic records: every 7th partly invalid, every 50th disputed."""
    out = []
    start = datetime(2026, 3, 5, 8, 0)
    for n in range(count):
        subject, mode, minutes, rate = _PLAN[n % len(_PLAN)]
        begin = start + timedelta(days=n // 3, hours=2 * (n % 3))
        invalid = 10 if n % 7 == 3 else 0
        valid = minutes - invalid
        out.append(
            TrainingRecordLine(
                record_no=f"{TERMINAL}{begin:%y%m%d}{n % 3 + 1:04d}",
                subject=subject,
                mode=mode,
                start=begin.isoformat() + "+08:00",
                end=(begin + timedelta(minutes=minutes)).isoformat() + "+08:00",
                total_minutes=minutes,
                valid_minutes=valid,
                invalid_minutes=invalid,
                invalid_reason="人脸比对不通过（签到照片与备案照片不符）" if invalid else "",
                coach_name="赵教练" if mode == "practical" else "钱老师",
                vehicle_plate="鲁L·A1234学" if mode == "practical" else "",
                status="disputed" if n % 50 == 49 else "confirmed",
                rate_fen=rate,
                paid_fen=valid * rate // 60,
            )
        )
    return out


def archive_data(records: int = 12) -> ArchiveData:
    return ArchiveData(
        learner=LearnerParty(
            name="张晓雨",
            id_number=ID_NUMBER,
            phone="13800000000",
            address="日照市东港区望海路 6 号",
        ),
        learner_no="3711000000012345",
        school=SchoolParty(
            name="日照安顺驾驶培训学校有限公司",
            filing_no="JP371100-0042",
            address="日照市东港区海曲中路 88 号",
            phone="0633-8123456",
            legal_representative="王建国",
            contact="李敏",
        ),
        vehicle_class="C1",
        coach_name="赵教练",
        enrolled_on="2026-03-01",
        health_check=HealthCheckEntry("日照市人民医院体检中心", "2026-02-26", "passed"),
        contract_no="XJ-371100-2026-000123",
        contract_sha256=CONTRACT_SHA,
        tuition_fen=520000,
        released_fen=498000,
        refunded_fen=22000,
        subjects=[
            SubjectSummary("theory", 12, 735, 735, "2026-03-20", 1),
            SubjectSummary("field", 16, 990, 960, "2026-04-28", 2),
            SubjectSummary("road", 24, 1440, 1440, "2026-06-10", 1),
            SubjectSummary("safety", 10, 600, 600, "2026-06-12", 1),
        ],
        records=training_records(records),
        certificate_no="JY371100-2026-000777",
        graduated_on="2026-06-20",
        city_name="日照市",
    )


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("archive")
    paths = {}
    for kind, data in render_archive_pdfs(archive_data()).items():
        paths[kind] = root / f"{kind}.pdf"
        paths[kind].write_bytes(data)
    return paths


def pages(pdf: Path) -> int:
    info = poppler("pdfinfo", pdf)
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages")))


# --- helpers ------------------------------------------------------------------------------


def test_format_minutes() -> None:
    assert format_minutes(0) == "0学时"
    assert format_minutes(960) == "16学时"
    assert format_minutes(1005) == "16学时45分"


# --- the documents ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", ["registration", "teaching_log", "training_records", "certificate"]
)
def test_only_the_embedded_cjk_font(archive: dict[str, Path], kind: str) -> None:
    found = fonts(archive[kind])
    assert found, "no fonts at all"
    assert any("WenQuanYiMicroHei" in font for font, _ in found)
    assert all(emb == "yes" for _, emb in found), found
    assert images(archive[kind]) == 0


def test_registration_form(archive: dict[str, Path]) -> None:
    body = squeezed(text(archive["registration"]))
    for needle in [
        "机动车驾驶培训学员登记表",
        "学员基本情况",
        "张晓雨",
        ID_NUMBER,  # the form keeps the full number
        "13800000000",
        "全国统一编号",
        "3711000000012345",
        "准驾车型",
        "C1",
        "2026年03月01日",
        "日照安顺驾驶培训学校有限公司",
        "JP371100-0042",
        "王建国",
        "赵教练",
        "¥5200.00",
        "日照市人民医院体检中心",
        "2026年02月26日",
        "合格",
        "XJ-371100-2026-000123",
        CONTRACT_SHA,
        "照片",
        "学员签名",
        "第 1 页 共 1 页",
    ]:
        assert squeezed(needle) in body, needle
    assert "不合格" not in body


def test_teaching_log(archive: dict[str, Path]) -> None:
    body = squeezed(text(archive["teaching_log"]))
    records = training_records(12)
    for needle in [
        "机动车驾驶培训电子教学日志",
        MASKED_ID,
        LOG_HEADER,
        "本科目累计有效（分钟）",
        "无效原因",
        records[0].record_no,
        records[11].record_no,
        "2026-03-05 08:00–09:00",
        "科目二",
        "模拟器",
        "远程",
        "课堂",
        "鲁L·A1234学",
        "已确认",
        "人脸比对不通过",
        "各科目学时累计",
    ]:
        assert squeezed(needle) in body, needle
    assert ID_NUMBER not in body
    # totals: 12 records = 2 rounds of the plan, 375 minutes each; records 3 and 10 lose 10
    assert "合计 750 730 20" in text(archive["teaching_log"])


def test_teaching_log_cumulative_minutes_per_subject(archive: dict[str, Path]) -> None:
    # each row ends with its status and the subject's cumulative valid minutes
    shown = [
        int(n) for n in re.findall(r"(?:已确认|有异议|待确认) (\d+)", text(archive["teaching_log"]))
    ]
    expected, running = [], {}
    for record in training_records(12):
        running[record.subject] = running.get(record.subject, 0) + record.valid_minutes
        expected.append(running[record.subject])
    assert shown == expected
    # theory: 60, 45, 60, 45; field: 60, 60 - 10 invalid, 60, 60
    assert expected[:4] == [60, 105, 60, 110]


def test_teaching_log_of_300_records_repeats_the_header(tmp_path: Path) -> None:
    pdf = tmp_path / "log.pdf"
    pdf.write_bytes(render_teaching_log_pdf(archive_data(records=300)))
    count = pages(pdf)
    assert count >= 8
    for page in (2, count):
        page_text = text(pdf, "-f", str(page), "-l", str(page))
        assert LOG_HEADER in page_text
        assert "本科目累计有效（分钟）" in squeezed(page_text)
        assert f"第 {page} 页 共 {count} 页" in page_text
        assert "3711000000012345" in page_text  # the learner on every page
    body = text(pdf)
    records = training_records(300)
    assert records[299].record_no in body
    assert body.count(LOG_HEADER) >= count
    assert sum(1 for r in records if r.status == "disputed") == 6
    assert squeezed("有异议") in squeezed(body)


def test_training_records(archive: dict[str, Path]) -> None:
    body = squeezed(text(archive["training_records"]))
    for needle in [
        "机动车驾驶培训记录",
        MASKED_ID,
        "JY371100-2026-000777",
        "规定学时",
        "已确认学时",
        "考试合格日期",
        "科目一",
        "科目四",
        "12学时15分",  # theory counted 735 minutes
        "16学时30分",  # field counted 990
        "62学时",  # required in all
        "2026年04月28日",
        "¥5200.00",
        "伍仟贰佰元整",
        "¥4980.00",
        "¥220.00",
        "贰佰贰拾元整",
        "监管账户余额",
        "¥0.00",
        "资金已结清",
        "12 条学时记录",
        "2026年06月20日",
    ]:
        assert squeezed(needle) in body, needle
    assert ID_NUMBER not in body


def test_training_records_report_an_unsettled_balance(tmp_path: Path) -> None:
    data = archive_data()
    data.refunded_fen = 0
    pdf = tmp_path / "records.pdf"
    pdf.write_bytes(render_training_records_pdf(data))
    assert "监管账户尚有余额¥220.00" in squeezed(text(pdf))


def test_certificate(archive: dict[str, Path]) -> None:
    pdf = archive["certificate"]
    assert pages(pdf) == 1
    assert "841.89 x 595.276 pts (A4)" in poppler("pdfinfo", pdf)  # landscape
    body = squeezed(text(pdf))
    for needle in [
        "结业证书",
        "JY371100-2026-000777",
        "张晓雨",
        MASKED_ID,
        "C1",
        "日照安顺驾驶培训学校有限公司",
        "2026年03月01日",
        "2026年06月20日",
        "经考核，准予结业",
        "盖章",
        "3711000000012345",
    ]:
        assert squeezed(needle) in body, needle
    assert ID_NUMBER not in body


def test_certificate_values_are_escaped(tmp_path: Path) -> None:
    data = archive_data()
    data.learner.name = "<b>张&晓|雨</b>"
    assert "&lt;b&gt;张&amp;晓&#124;雨&lt;/b&gt;" in certificate_markup(data)
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(render_certificate_pdf(data))
    assert "<b>张&晓|雨</b>" in text(pdf)


def test_archive_is_deterministic() -> None:
    assert render_archive_pdfs(archive_data()) == render_archive_pdfs(archive_data())


# --- the activity -------------------------------------------------------------------------


async def test_activity_stores_four_documents(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    docs = DocumentActivities(store)
    result = await ActivityEnvironment().run(docs.render_archive, RenderArchive(archive_data()))
    assert isinstance(result, ArchiveDocuments)
    expected = render_archive_pdfs(archive_data())
    for kind, digest in [
        ("registration", result.registration_sha256),
        ("teaching_log", result.teaching_log_sha256),
        ("training_records", result.training_records_sha256),
        ("certificate", result.certificate_sha256),
    ]:
        assert store.get(digest, kind) == expected[kind]
        assert sha256_hex(expected[kind]) == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "certificate",
        "registration",
        "teaching_log",
        "training_records",
    ]


def test_archive_types_survive_temporals_json_converter() -> None:
    converter = DataConverter.default.payload_converter
    result = ArchiveDocuments("a" * 64, "b" * 64, "c" * 64, "d" * 64)
    for value in [RenderArchive(archive_data()), result]:
        payloads = converter.to_payloads([value])
        assert converter.from_payloads(payloads, [type(value)]) == [value]
