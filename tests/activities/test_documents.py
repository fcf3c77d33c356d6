"""Contract and e-invoice PDFs, checked with poppler: embedded CJK font, text, images."""

import base64
import io
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from temporalio.converter import DataConverter
from temporalio.testing import ActivityEnvironment

from activities.documents import (
    DocumentActivities,
    DocumentMissingError,
    DocumentStore,
    DocumentTamperedError,
    amount_in_words,
    contract_markup,
    format_yuan,
    reference_total_fen,
    render_contract_pdf,
    render_invoice_pdf,
    sha256_hex,
)
from workflows.documents_data import (
    ContractData,
    FeeAnnex,
    HoursPlan,
    InvoiceData,
    InvoiceItem,
    LearnerParty,
    RenderContract,
    RenderInvoice,
    SchoolParty,
)

CONTRACT_NO = "XJ-371100-2026-000123"


def contract_data(**changes: object) -> ContractData:
    data = ContractData(
        contract_no=CONTRACT_NO,
        school=SchoolParty(
            name="日照安顺驾驶培训学校有限公司",
            filing_no="JP371100-0042",
            address="日照市东港区海曲中路 88 号",
            phone="0633-8123456",
            legal_representative="王建国",
            contact="李敏",
        ),
        learner=LearnerParty(name="张晓雨", id_number="371102200001011234", phone="13800000000"),
        vehicle_class="C1",
        coach_name="赵教练",
        hours=HoursPlan(
            theory=12,
            theory_classroom_min=6,
            field=16,
            road=24,
            safety=10,
            safety_classroom_min=6,
            field_simulator=4,
        ),
        fees=FeeAnnex(
            services_fen=30000,
            theory_fen=50000,
            simulator_rates_fen=[6000, 7000, 8000],
            field_rates_fen=[12000, 14000, 16000],
            road_rates_fen=[13000, 15000, 17050],
        ),
        tuition_fen=520000,
        release_rule_text="培训费存入监管账户，学员每次确认培训学时后按所订时段单价拨付驾校。",
        city_name="日照市",
        escrow_bank_name="日照银行",
        escrow_account="817001234567",
        created_date="2026-03-01",
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return data


def invoice_data() -> InvoiceData:
    return InvoiceData(
        invoice_no="26372000000012345678",
        invoice_code="037002600111",
        check_code="12345678901234567890",
        issued_at="2026-03-01T02:20:00+00:00",
        seller_name="日照安顺驾驶培训学校有限公司",
        seller_tax_id="91371100MA3C123456",
        buyer_name="张晓雨",
        items=[
            InvoiceItem("*教育服务*驾驶培训费", 90105),
            InvoiceItem("*教育服务*服务费", 10000),
        ],
        total_fen=100105,
        order_id="ORD-2026-0001",
        channel="unionpay",
    )


def drawn_signature() -> bytes:
    img = Image.new("RGBA", (600, 240), (0, 0, 0, 0))
    ImageDraw.Draw(img).line(
        [(60, 180), (120, 60), (180, 170), (250, 70), (320, 160), (520, 150)],
        fill=(10, 20, 90, 255),
        width=7,
    )
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def poppler(tool: str, pdf: Path, *args: str) -> str:
    return subprocess.run(
        [tool, *args, str(pdf), *(["-"] if tool == "pdftotext" else [])],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def fonts(pdf: Path) -> list[tuple[str, str]]:
    """(name, emb) per font from pdffonts."""
    lines = poppler("pdffonts", pdf).splitlines()[2:]
    out = []
    for line in lines:
        cols = line.split()
        # name type... encoding emb sub uni object ID: emb is the 5th column from the end
        out.append((cols[0], cols[-5]))
    return out


def images(pdf: Path) -> int:
    return len(poppler("pdfimages", pdf, "-list").splitlines()[2:])


def text(pdf: Path, *args: str) -> str:
    return poppler("pdftotext", pdf, "-raw", *args)


def squeezed(value: str) -> str:
    """Without whitespace: pdftotext breaks lines where the layout wrapped them."""
    return re.sub(r"\s+", "", value)


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pdfs")
    out = {
        "unsigned": render_contract_pdf(contract_data(), None, None),
        "signed": render_contract_pdf(
            contract_data(), drawn_signature(), "2026-03-01T02:15:30+00:00"
        ),
        "invoice": render_invoice_pdf(invoice_data()),
    }
    paths = {}
    for name, data in out.items():
        paths[name] = root / f"{name}.pdf"
        paths[name].write_bytes(data)
    return paths


# --- amounts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fen", "words"),
    [
        (0, "零元整"),
        (1, "壹分"),
        (10, "壹角"),
        (50, "伍角"),
        (15, "壹角伍分"),
        (100, "壹元整"),
        (207, "贰元零柒分"),
        (1000, "壹拾元整"),
        (1050, "壹拾元伍角"),
        (123456, "壹仟贰佰叁拾肆元伍角陆分"),
        (100105, "壹仟零壹元零伍分"),
        (100005, "壹仟元零伍分"),
        (101000, "壹仟零壹拾元整"),
        (520000, "伍仟贰佰元整"),
        (1_000_000, "壹万元整"),
        (1_010_000, "壹万零壹佰元整"),
        (10_000_100, "壹拾万零壹元整"),
        (11_000_000, "壹拾壹万元整"),
        (100_100_000, "壹佰万壹仟元整"),
        (100_000_050, "壹佰万元伍角"),
        (1_000_000_000, "壹仟万元整"),
        (10_000_000_000, "壹亿元整"),
        (10_001_000_000, "壹亿零壹万元整"),
        (10_000_000_100, "壹亿零壹元整"),
        (12_345_678_901, "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元零壹分"),
        (-1, "负壹分"),
    ],
)
def test_amount_in_words(fen: int, words: str) -> None:
    assert amount_in_words(fen) == words


def test_format_yuan() -> None:
    assert format_yuan(123456) == "¥1234.56"
    assert format_yuan(5) == "¥0.05"
    assert format_yuan(0) == "¥0.00"
    assert format_yuan(-100) == "-¥1.00"


def test_reference_total_counts_simulator_hours_inside_field() -> None:
    # 300 + 500 + 4 h simulator x 60 + 12 h field x 120 + 24 h road x 130
    assert reference_total_fen(contract_data()) == 560000


# --- the store ----------------------------------------------------------------------------


def test_store_round_trip_and_layout(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    data = b"%PDF-1.4 hello"
    digest = store.put(data, "contract")
    assert digest == sha256_hex(data)
    assert store.path(digest, "contract") == tmp_path / "contract" / f"{digest}.pdf"
    assert store.get(digest, "contract") == data
    assert store.exists(digest, "contract")
    assert store.put(data, "contract") == digest  # idempotent
    assert [p.name for p in (tmp_path / "contract").iterdir()] == [f"{digest}.pdf"]


def test_store_detects_tampering_and_missing(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    digest = store.put(b"original", "invoice")
    store.path(digest, "invoice").write_bytes(b"forged")
    with pytest.raises(DocumentTamperedError):
        store.get(digest, "invoice")
    with pytest.raises(DocumentMissingError):
        store.get(digest, "contract")
    with pytest.raises(FileNotFoundError):  # DocumentMissingError is one, for callers
        store.get("0" * 64, "invoice")


@pytest.mark.parametrize(
    ("sha", "kind"), [("0" * 64, "../x"), ("../../etc/passwd", "pdf"), ("A" * 64, "contract")]
)
def test_store_refuses_bad_names(tmp_path: Path, sha: str, kind: str) -> None:
    with pytest.raises(ValueError):
        DocumentStore(tmp_path).get(sha, kind)


# --- the contract -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["unsigned", "signed", "invoice"])
def test_only_the_embedded_cjk_font(pdfs: dict[str, Path], name: str) -> None:
    found = fonts(pdfs[name])
    assert found, "no fonts at all"
    assert any("WenQuanYiMicroHei" in font for font, _ in found)
    assert all(emb == "yes" for _, emb in found), found


def test_contract_text(pdfs: dict[str, Path]) -> None:
    body = squeezed(text(pdfs["unsigned"]))
    for needle in [
        "机动车驾驶培训先学后付、计时收费模式服务合同",
        "GF—2016—2002",
        "甲方",
        "乙方",
        "张晓雨",
        "日照安顺驾驶培训学校有限公司",
        "科目一",
        "科目二",
        "科目三",
        "科目四",
        "课堂教学不少于 6 学时",
        "其中模拟器培训 4 学时",
        "先学后付",
        "日照银行",
        "学员每次确认培训学时后按所订时段单价拨付驾校",
        "退学",
        "争议解决",
        "附件：收费标准",
        "服务费",
        "理论培训费",
        "模拟器培训费",
        "场地驾驶培训费",
        "道路驾驶培训费",
        "普通时段",
        "高峰时段",
        "节假日",
        "¥300.00",
        "¥500.00",
        "¥60.00",
        "¥120.00",
        "¥140.00",
        "¥170.50",
        "¥5200.00",
        "伍仟贰佰元整",
        "¥5600.00",
        "第 1 页 共 4 页",
    ]:
        assert squeezed(needle) in body, needle


def test_contract_number_on_every_page(pdfs: dict[str, Path]) -> None:
    info = poppler("pdfinfo", pdfs["unsigned"])
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages")))
    assert pages >= 2
    for page in range(1, pages + 1):
        page_text = text(pdfs["unsigned"], "-f", str(page), "-l", str(page))
        assert CONTRACT_NO in page_text
        assert f"第 {page} 页 共 {pages} 页" in page_text


def test_signed_contract_has_the_signature_image(pdfs: dict[str, Path]) -> None:
    assert images(pdfs["signed"]) >= 1
    assert images(pdfs["unsigned"]) == 0
    assert "2026年03月01日 10:15:30（北京时间）" in text(pdfs["signed"])


def test_contract_values_are_escaped(tmp_path: Path) -> None:
    data = contract_data(coach_name="<b>赵&钱|孙</b>")
    assert "&lt;b&gt;赵&amp;钱&#124;孙&lt;/b&gt;" in contract_markup(data)
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(render_contract_pdf(data, None, None))
    assert "<b>赵&钱|孙</b>" in text(pdf)


def test_rendering_is_deterministic() -> None:
    signature = drawn_signature()
    first = render_contract_pdf(contract_data(), signature, "2026-03-01T02:15:30Z")
    assert render_contract_pdf(contract_data(), signature, "2026-03-01T02:15:30Z") == first
    assert render_invoice_pdf(invoice_data()) == render_invoice_pdf(invoice_data())


# --- the invoice --------------------------------------------------------------------------


def test_invoice_text(pdfs: dict[str, Path]) -> None:
    body = squeezed(text(pdfs["invoice"]))
    for needle in [
        "电子发票（普通发票）",
        "26372000000012345678",
        "037002600111",
        "12345678901234567890",
        "2026年03月01日",
        "张晓雨",
        "91371100MA3C123456",
        "驾驶培训费",
        "¥901.05",
        "¥1001.05",
        "壹仟零壹元零伍分",
        "ORD-2026-0001",
        "云闪付",
    ]:
        assert squeezed(needle) in body, needle
    assert images(pdfs["invoice"]) == 0


def test_invoice_total_must_match_items() -> None:
    data = invoice_data()
    data.total_fen += 1
    with pytest.raises(ValueError):
        render_invoice_pdf(data)


# --- the activities -----------------------------------------------------------------------


async def test_activities_store_and_return_the_hash(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    docs = DocumentActivities(store)
    env = ActivityEnvironment()
    b64 = base64.b64encode(drawn_signature()).decode()
    signed = await env.run(
        docs.render_contract, RenderContract(contract_data(), b64, "2026-03-01T10:15:30+08:00")
    )
    preview = await env.run(docs.render_contract, RenderContract(contract_data()))
    invoice = await env.run(docs.render_invoice, RenderInvoice(invoice_data()))
    assert len({signed, preview, invoice}) == 3
    assert store.get(signed, "contract").startswith(b"%PDF")
    assert store.get(preview, "contract") == render_contract_pdf(contract_data(), None, None)
    assert sha256_hex(store.get(invoice, "invoice")) == invoice


def test_inputs_survive_temporals_json_converter() -> None:
    converter = DataConverter.default.payload_converter
    for value in [
        RenderContract(contract_data(), "aGk=", "2026-03-01T10:15:30+08:00"),
        RenderInvoice(invoice_data()),
    ]:
        payloads = converter.to_payloads([value])
        assert converter.from_payloads(payloads, [type(value)]) == [value]
