"""Documents as PDFs: the learner's contract, the e-invoice and the graduation archive, plus
their content-addressed store.

The ReportLab machinery (embedded CJK font, styles, page numbers, tables, the light markup the
templates in templates/documents are written in) is in activities/pdf.py. The archive has four
documents: 学员登记表, 电子教学日志, 培训记录 and 结业证书 (DESIGN.md §3, stage 8). Each stored PDF
is named by its SHA-256 and checked on every read.
"""

import asyncio
import base64
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import replace
from html import escape
from pathlib import Path
from typing import Any

from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
)
from temporalio import activity

from activities import pdf
from activities.pdf import (
    DEFAULT_FONT_PATH,
    amount_in_words,
    format_minutes,
    format_yuan,
)
from core.masking import mask_id_number
from workflows.documents_data import (
    ArchiveData,
    ArchiveDocuments,
    ContractData,
    InvoiceData,
    RenderArchive,
    RenderContract,
    RenderInvoice,
    TrainingRecordLine,
)

CONTRACT_TEMPLATE = "contract.md.j2"
CERTIFICATE_TEMPLATE = "certificate.md.j2"
SIGNATURE_BOX = (50 * mm, 20 * mm)
CHANNEL_NAMES = {"unionpay": "云闪付", "alipay": "支付宝", "wechat": "微信支付"}


# --- storage ------------------------------------------------------------------------------


class DocumentError(Exception):
    pass


class DocumentMissingError(DocumentError, FileNotFoundError):
    """No such document (also a FileNotFoundError, for callers that catch that)."""


class DocumentTamperedError(DocumentError):
    pass


_KIND_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DocumentStore:
    """PDFs on disk at root/<kind>/<sha256>.pdf, written atomically and verified on read."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str, kind: str) -> Path:
        if not _KIND_RE.match(kind):
            raise ValueError(f"bad document kind {kind!r}")
        if not _SHA_RE.match(sha256):
            raise ValueError("bad sha256")
        return self.root / kind / f"{sha256}.pdf"

    def put(self, data: bytes, kind: str) -> str:
        digest = sha256_hex(data)
        target = self.path(digest, kind)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".pdf")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str, kind: str) -> bytes:
        target = self.path(sha256, kind)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise DocumentMissingError(f"{kind}/{sha256} not found") from None
        if sha256_hex(data) != sha256:
            raise DocumentTamperedError(f"{kind}/{sha256} does not match its hash")
        return data

    def exists(self, sha256: str, kind: str) -> bool:
        return self.path(sha256, kind).is_file()


# --- the contract -------------------------------------------------------------------------


def reference_total_fen(data: ContractData) -> int:
    """The annex's reference price: syllabus hours, all at normal-time rates."""
    h, f = data.hours, data.fees
    simulator = h.field_simulator + h.road_simulator
    return (
        f.services_fen
        + f.theory_fen
        + simulator * f.simulator_rates_fen[0]
        + (h.field - h.field_simulator) * f.field_rates_fen[0]
        + (h.road - h.road_simulator) * f.road_rates_fen[0]
    )


def contract_markup(data: ContractData) -> str:
    """The contract text in the template's light markup (values already escaped)."""
    template = pdf.template_env().get_template(CONTRACT_TEMPLATE)
    return template.render(
        c=data, h=data.hours, f=data.fees, reference_total_fen=reference_total_fen(data)
    )


def _signature_image(png: bytes) -> Image:
    with PILImage.open(io.BytesIO(png)) as img:
        width, height = img.size
    scale = min(SIGNATURE_BOX[0] / width, SIGNATURE_BOX[1] / height)
    image = Image(io.BytesIO(png), width=width * scale, height=height * scale, mask="auto")
    image.hAlign = "LEFT"
    return image


def _signature_block(
    data: ContractData, st: pdf.Styles, signature_png: bytes | None, signed_at: str | None
) -> Flowable:
    def p(text: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(text, style or st.cell)

    blank = Spacer(SIGNATURE_BOX[0], SIGNATURE_BOX[1])
    learner_sig: Flowable = _signature_image(signature_png) if signature_png else blank
    when = escape(pdf.format_moment(signed_at)) if signed_at else pdf.UNFILLED_DATE
    rows = [
        [p("甲方（学员）签名："), p(f"乙方（培训机构）：{escape(data.school.name)}")],
        [learner_sig, p("（盖章）")],
        [p(f"签署时间：{when}"), p(f"日期：{escape(data.created_date)}")],
    ]
    style: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
    ]
    if not signature_png:
        # the blank line the learner signs on, in the preview
        style.append(("LINEBELOW", (0, 1), (0, 1), 0.6, colors.black))
    block = pdf.table(
        rows, st, style, colWidths=[85 * mm, 85 * mm], rowHeights=[None, 23 * mm, None]
    )
    return KeepTogether([Spacer(1, 4 * mm), block])


def render_contract_pdf(
    data: ContractData,
    signature_png: bytes | None,
    signed_at: str | None,
    font_path: Path | str = DEFAULT_FONT_PATH,
) -> bytes:
    """The contract as an A4 PDF; without a signature it is the unsigned preview."""
    with pdf.render_lock:
        return _render_contract(data, signature_png, signed_at, pdf.register_font(font_path))


def _render_contract(
    data: ContractData, signature_png: bytes | None, signed_at: str | None, font: str
) -> bytes:
    st = pdf.styles(font)
    buffer = io.BytesIO()
    doc = pdf.new_doc(
        buffer, font, f"机动车驾驶培训服务合同 {data.contract_no}", "先学后付、计时收费模式服务合同"
    )
    flowables = pdf.markup_flowables(
        contract_markup(data),
        st,
        doc.width,
        {"signatures": lambda: _signature_block(data, st, signature_png, signed_at)},
    )
    header = pdf.running_header(
        font, "学驾一件事 · 机动车驾驶培训服务合同", f"合同编号：{data.contract_no}"
    )
    doc.build(
        flowables, onFirstPage=header, onLaterPages=header, canvasmaker=pdf.page_numbers(font)
    )
    return buffer.getvalue()


# --- the e-invoice ------------------------------------------------------------------------


def render_invoice_pdf(data: InvoiceData, font_path: Path | str = DEFAULT_FONT_PATH) -> bytes:
    """An e-invoice (电子发票（普通发票）) for a payment into escrow, on one A4 page."""
    if sum(item.amount_fen for item in data.items) != data.total_fen:
        raise ValueError("invoice total does not equal the sum of its items")
    with pdf.render_lock:
        return _render_invoice(data, pdf.register_font(font_path))


def _render_invoice(data: InvoiceData, font: str) -> bytes:
    st = pdf.styles(font)
    red = colors.HexColor("#9c2a1a")
    buffer = io.BytesIO()
    doc = pdf.new_doc(
        buffer, font, f"电子发票 {data.invoice_no}", "电子发票（普通发票）", top=18 * mm
    )
    width = doc.width

    def p(text: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(text, style or st.cell)

    title_style = ParagraphStyle("inv_title", parent=st.title, textColor=red, fontSize=18)
    label = ParagraphStyle("inv_label", parent=st.cell, textColor=red)
    meta = pdf.table(
        [
            [p("发票代码：", label), p(escape(data.invoice_code))],
            [p("发票号码：", label), p(escape(data.invoice_no))],
            [p("开票日期：", label), p(escape(pdf.format_date(data.issued_at)))],
            [p("校验码：", label), p(escape(data.check_code))],
        ],
        st,
        [("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)],
        colWidths=[22 * mm, 48 * mm],
        hAlign="RIGHT",
    )

    parties = pdf.table(
        [
            [
                p("购<br/>买<br/>方", label),
                p(f"名称：{escape(data.buyer_name)}"),
                p("销<br/>售<br/>方", label),
                p(
                    f"名称：{escape(data.seller_name)}<br/>"
                    f"统一社会信用代码/纳税人识别号：{escape(data.seller_tax_id)}"
                ),
            ],
        ],
        st,
        [
            ("BOX", (0, 0), (-1, -1), 0.8, red),
            ("LINEAFTER", (0, 0), (0, 0), 0.5, red),
            ("LINEAFTER", (1, 0), (1, 0), 0.8, red),
            ("LINEAFTER", (2, 0), (2, 0), 0.5, red),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
        ],
        colWidths=[9 * mm, width / 2 - 9 * mm, 9 * mm, width / 2 - 9 * mm],
    )

    rows: list[list[Any]] = [
        [
            p("序号", st.cell_head),
            p("项目名称", st.cell_head),
            p("数量", st.cell_head),
            p("金额（元）", st.cell_head),
        ]
    ]
    for n, item in enumerate(data.items, start=1):
        rows.append(
            [
                p(str(n), st.cell_head),
                p(escape(item.name)),
                p("1", st.cell_head),
                p(format_yuan(item.amount_fen), st.cell_right),
            ]
        )
    rows.append(
        [p("合　　计", st.cell_head), "", "", p(format_yuan(data.total_fen), st.cell_right)]
    )
    rows.append(
        [
            p("价税合计（大写）", st.cell_head),
            p(f"ⓧ {amount_in_words(data.total_fen)}"),
            "",
            p(f"（小写）{format_yuan(data.total_fen)}", st.cell_right),
        ]
    )
    channel = CHANNEL_NAMES.get(data.channel, data.channel)
    rows.append(
        [
            p("备　　注", st.cell_head),
            p(
                f"订单号：{escape(data.order_id)}；支付渠道：{escape(channel)}；"
                "款项存入驾驶培训资金监管账户，按合同约定拨付。"
            ),
            "",
            "",
        ]
    )
    last = len(rows) - 1
    items = pdf.table(
        rows,
        st,
        [
            ("BOX", (0, 0), (-1, -1), 0.8, red),
            ("INNERGRID", (0, 0), (-1, -1), 0.4, red),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f6ece9")),
            ("SPAN", (0, last - 2), (2, last - 2)),
            ("SPAN", (1, last - 1), (2, last - 1)),
            ("SPAN", (1, last), (3, last)),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 4),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
        ],
        colWidths=[30 * mm, width - 90 * mm, 20 * mm, 40 * mm],
        repeatRows=1,
    )

    footer = pdf.table(
        [[p("开票人：学驾一件事平台"), p(f"销售方：{escape(data.seller_name)}", st.cell_right)]],
        st,
        [],
        colWidths=[width / 2, width / 2],
    )
    flowables: list[Flowable] = [
        Paragraph("电子发票（普通发票）", title_style),
        Spacer(1, 2 * mm),
        meta,
        Spacer(1, 4 * mm),
        parties,
        items,
        Spacer(1, 3 * mm),
        footer,
    ]
    doc.build(flowables)
    return buffer.getvalue()


# --- the graduation archive -----------------------------------------------------------------

SUBJECT_NAMES = {"theory": "科目一", "field": "科目二", "road": "科目三", "safety": "科目四"}
SUBJECT_CONTENT = {
    "theory": "道路交通安全法律、法规和相关知识",
    "field": "场地驾驶技能",
    "road": "道路驾驶技能",
    "safety": "安全文明驾驶常识",
}
MODE_NAMES = {"practical": "实车", "classroom": "课堂", "simulator": "模拟器", "remote": "远程"}
STATUS_NAMES = {"confirmed": "已确认", "disputed": "有异议", "pending": "待确认"}
HEALTH_RESULTS = {"passed": "合格", "failed": "不合格"}
LANDSCAPE_A4 = landscape(A4)
_DISPUTED_FILL = colors.HexColor("#fdf0d5")


def _time_range(start: str, end: str) -> str:
    """'2026-03-05 08:00–09:30' in Beijing time; across midnight, the end on a second line
    with its date."""
    try:
        a, b = pdf.parse_moment(start), pdf.parse_moment(end)
    except ValueError:
        return f"{start}–{end}"
    tail = b.strftime("%H:%M") if a.date() == b.date() else b.strftime("\n%Y-%m-%d %H:%M")
    return f"{a:%Y-%m-%d %H:%M}–{tail}"


def _subject(code: str) -> str:
    return SUBJECT_NAMES.get(code, code)


def _portrait(
    data: ArchiveData, font: str, title: str, build: Callable[[pdf.Styles, float], list[Flowable]]
) -> bytes:
    """An A4 archive document: running header naming the learner, numbered pages."""
    st = pdf.styles(font)
    buffer = io.BytesIO()
    doc = pdf.new_doc(buffer, font, f"{title} {data.learner_no}", title)
    header = pdf.running_header(
        font, f"学驾一件事 · {title}", f"学员：{data.learner.name}　全国统一编号：{data.learner_no}"
    )
    doc.build(
        build(st, doc.width),
        onFirstPage=header,
        onLaterPages=header,
        canvasmaker=pdf.page_numbers(font),
    )
    return buffer.getvalue()


# 学员登记表


def render_registration_pdf(data: ArchiveData, font_path: Path | str = DEFAULT_FONT_PATH) -> bytes:
    """学员登记表: the learner, the school, enrolment, the health check and the contract."""
    with pdf.render_lock:
        font = pdf.register_font(font_path)
        return _portrait(data, font, "学员登记表", lambda st, w: _registration(data, st, w))


def _registration(data: ArchiveData, st: pdf.Styles, width: float) -> list[Flowable]:
    learner, school, health = data.learner, data.school, data.health_check
    grid = pdf.field_grid(
        [
            "一、学员基本情况",
            [("姓名", learner.name), ("准驾车型", data.vehicle_class)],
            [("身份证号", learner.id_number)],
            [("联系电话", learner.phone), ("全国统一编号", data.learner_no)],
            [("住址", learner.address or "")],
            "二、培训机构",
            [("名称", school.name)],
            [("备案编号", school.filing_no), ("联系电话", school.phone)],
            [("地址", school.address)],
            [("法定代表人", school.legal_representative), ("联系人", school.contact)],
            "三、入学与培训",
            [("入学日期", pdf.format_date(data.enrolled_on)), ("教练员", data.coach_name)],
            [("培训地", data.city_name), ("培训费", pdf.format_yuan(data.tuition_fen))],
            "四、体检",
            [("体检机构", health.centre_name)],
            [
                ("体检日期", pdf.format_date(health.examined_on)),
                ("体检结论", HEALTH_RESULTS.get(health.result, health.result)),
            ],
            "五、培训合同",
            [("合同编号", data.contract_no)],
            [("合同 SHA-256", data.contract_sha256)],
        ],
        st,
        width,
        aside=("照片", 1, 4, 30 * mm),
        padding=5,
    )
    return [
        Paragraph("机动车驾驶培训学员登记表", st.title),
        pdf.para(
            f"全国统一编号：{data.learner_no}{pdf.GAP}入学日期：{pdf.format_date(data.enrolled_on)}",
            st.subtitle,
        ),
        grid,
        Spacer(1, 3 * mm),
        pdf.para(
            "合同文件以其 SHA-256 摘要存证：平台保存的已签署合同 PDF 的摘要与上表一致，"
            "即为未经改动的原件。",
            st.note,
        ),
        Spacer(1, 2 * mm),
        pdf.para("本人确认以上信息真实、准确，并已阅读、签署培训合同。", st.body),
        pdf.signature_lines(st, width, f"培训机构（盖章）：{school.name}", data.enrolled_on),
    ]


# 电子教学日志

_LOG_COLUMNS_MM = [9, 44, 13, 13, 34, 11, 11, 11, 0, 16, 19, 13, 18]  # 0: the rest
_LOG_MARGIN = 15 * mm


def render_teaching_log_pdf(data: ArchiveData, font_path: Path | str = DEFAULT_FONT_PATH) -> bytes:
    """电子教学日志: one row per training record, on landscape pages with the header repeated."""
    with pdf.render_lock:
        return _render_teaching_log(data, pdf.register_font(font_path))


def _render_teaching_log(data: ArchiveData, font: str) -> bytes:
    st = pdf.styles(font)
    buffer = io.BytesIO()
    doc = pdf.new_doc(
        buffer,
        font,
        f"电子教学日志 {data.learner_no}",
        "电子教学日志",
        LANDSCAPE_A4,
        left=_LOG_MARGIN,
        right=_LOG_MARGIN,
        top=20 * mm,
        bottom=20 * mm,
    )
    width = doc.width
    info = pdf.field_grid(
        [
            [("学员", data.learner.name), ("身份证号", mask_id_number(data.learner.id_number))],
            [("全国统一编号", data.learner_no), ("准驾车型", data.vehicle_class)],
            [("培训机构", data.school.name), ("备案编号", data.school.filing_no)],
        ],
        st,
        width,
        label_width=26 * mm,
    )
    flowables: list[Flowable] = [
        Paragraph("机动车驾驶培训电子教学日志", st.title),
        info,
        Spacer(1, 4 * mm),
        _log_table(data, st, width),
        Spacer(1, 4 * mm),
        Paragraph("各科目学时累计", st.heading),
        _log_totals(data, st),
        Spacer(1, 2 * mm),
        pdf.para(
            "学时以计时终端上报的分钟学时为准；无效分钟（如人脸比对不通过、超速、超出培训区域）"
            "不计入学时。状态为学员对该条记录的确认：已确认、有异议、待确认。",
            st.note,
        ),
    ]
    header = pdf.running_header(
        font,
        "学驾一件事 · 电子教学日志",
        f"学员：{data.learner.name}　全国统一编号：{data.learner_no}",
        margin=_LOG_MARGIN,
    )
    doc.build(
        flowables, onFirstPage=header, onLaterPages=header, canvasmaker=pdf.page_numbers(font)
    )
    return buffer.getvalue()


def _log_table(data: ArchiveData, st: pdf.Styles, width: float) -> Flowable:
    head = ParagraphStyle("log_head", parent=st.cell_head, fontSize=8, leading=10)
    cell = ParagraphStyle("log_cell", parent=st.cell, fontSize=8, leading=10)
    widths = [w * mm for w in _LOG_COLUMNS_MM]
    widths[8] = width - sum(widths)

    def h(text: str) -> Paragraph:
        return Paragraph(text, head)

    top = ["序号", "学时记录编号", "科目", "方式", "起止时间", "学时（分钟）", "", ""]
    top += ["无效原因", "教练员", "教练车", "状态", "本科目累计有效（分钟）"]
    under = [""] * 5 + ["合计", "有效", "无效"] + [""] * 5
    rows: list[list[Any]] = [[h(t) if t else "" for t in top], [h(t) if t else "" for t in under]]
    commands: list[tuple[Any, ...]] = [
        *pdf.grid_commands(header_rows=2, padding=2),
        ("FONTSIZE", (0, 2), (-1, -1), 8),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("ALIGN", (0, 2), (0, -1), "CENTER"),
        ("ALIGN", (2, 2), (3, -1), "CENTER"),
        ("ALIGN", (5, 2), (7, -1), "RIGHT"),
        ("ALIGN", (11, 2), (11, -1), "CENTER"),
        ("ALIGN", (12, 2), (12, -1), "RIGHT"),
        ("SPAN", (5, 0), (7, 0)),
        *[("SPAN", (c, 0), (c, 1)) for c in (0, 1, 2, 3, 4, 8, 9, 10, 11, 12)],
    ]
    cumulative: dict[str, int] = {}
    totals = [0, 0, 0]
    for n, rec in enumerate(data.records, start=1):
        cumulative[rec.subject] = cumulative.get(rec.subject, 0) + rec.valid_minutes
        for i, minutes in enumerate((rec.total_minutes, rec.valid_minutes, rec.invalid_minutes)):
            totals[i] += minutes
        rows.append(
            [
                str(n),
                rec.record_no,
                _subject(rec.subject),
                MODE_NAMES.get(rec.mode, rec.mode),
                _time_range(rec.start, rec.end),
                str(rec.total_minutes),
                str(rec.valid_minutes),
                str(rec.invalid_minutes),
                pdf.para(rec.invalid_reason, cell) if rec.invalid_reason else "",
                rec.coach_name,
                rec.vehicle_plate or "—",
                STATUS_NAMES.get(rec.status, rec.status),
                str(cumulative[rec.subject]),
            ]
        )
        if rec.status == "disputed":
            commands.append(("BACKGROUND", (0, len(rows) - 1), (-1, len(rows) - 1), _DISPUTED_FILL))
    last = len(rows)
    rows.append([h("合计")] + [""] * 4 + [str(t) for t in totals] + [""] * 5)
    commands += [
        ("SPAN", (0, last), (4, last)),
        ("BACKGROUND", (0, last), (-1, last), pdf.HEAD_FILL),
    ]
    return pdf.table(rows, st, commands, colWidths=widths, repeatRows=2, hAlign="LEFT")


def _log_totals(data: ArchiveData, st: pdf.Styles) -> Flowable:
    per: dict[str, list[int]] = {}
    for rec in data.records:
        counts = per.setdefault(rec.subject, [0, 0, 0, 0])
        counts[0] += 1
        counts[1] += rec.total_minutes
        counts[2] += rec.valid_minutes
        counts[3] += rec.invalid_minutes
    order = [s for s in SUBJECT_NAMES if s in per] + sorted(
        s for s in per if s not in SUBJECT_NAMES
    )
    rows: list[list[Any]] = [
        ["科目", "记录（条）", "合计（分钟）", "有效（分钟）", "无效（分钟）", "有效学时"]
    ]
    for subject in order:
        count, total, valid, invalid = per[subject]
        rows.append(
            [
                _subject(subject),
                str(count),
                str(total),
                str(valid),
                str(invalid),
                pdf.format_minutes(valid),
            ]
        )
    return pdf.table(
        rows,
        st,
        [
            *pdf.grid_commands(header_rows=1),
            ("FONTSIZE", (0, 0), (-1, -1), 9),
            ("ALIGN", (0, 0), (-1, 0), "CENTER"),
            ("ALIGN", (0, 1), (0, -1), "CENTER"),
            ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ],
        colWidths=[24 * mm, 26 * mm, 30 * mm, 30 * mm, 30 * mm, 34 * mm],
        hAlign="LEFT",
    )


# 培训记录


def render_training_records_pdf(
    data: ArchiveData, font_path: Path | str = DEFAULT_FONT_PATH
) -> bytes:
    """培训记录: hours and exams per subject, the records' tally and the escrow account."""
    with pdf.render_lock:
        font = pdf.register_font(font_path)
        return _portrait(data, font, "培训记录", lambda st, w: _training_records(data, st, w))


def _training_records(data: ArchiveData, st: pdf.Styles, width: float) -> list[Flowable]:
    learner = data.learner
    info = pdf.field_grid(
        [
            [("学员", learner.name), ("身份证号", mask_id_number(learner.id_number))],
            [("全国统一编号", data.learner_no), ("准驾车型", data.vehicle_class)],
            [("培训机构", data.school.name)],
            [("入学日期", pdf.format_date(data.enrolled_on)), ("教练员", data.coach_name)],
            [("结业日期", pdf.format_date(data.graduated_on)), ("结业证书", data.certificate_no)],
        ],
        st,
        width,
    )
    small = ParagraphStyle("small_head", parent=st.cell_head, fontSize=9, leading=12)

    def h(text: str) -> Paragraph:
        return Paragraph(text, small)

    paid: dict[str, int] = {}
    for rec in data.records:
        paid[rec.subject] = paid.get(rec.subject, 0) + rec.paid_fen
    rows: list[list[Any]] = [
        [
            h("科目"),
            h("培训内容"),
            h("规定学时"),
            h("计入学时"),
            h("已确认学时"),
            h("学时达标"),
            h("考试合格日期"),
            h("考试次数"),
        ]
    ]
    required = counted = confirmed = 0
    for s in data.subjects:
        required += s.required_hours
        counted += s.counted_minutes
        confirmed += s.confirmed_minutes
        rows.append(
            [
                _subject(s.subject),
                pdf.para(SUBJECT_CONTENT.get(s.subject, ""), st.cell),
                f"{s.required_hours}学时",
                pdf.format_minutes(s.counted_minutes),
                pdf.format_minutes(s.confirmed_minutes),
                "是" if s.counted_minutes >= s.required_hours * 60 else "否",
                pdf.format_date(s.exam_passed_on),
                str(s.exam_attempts) if s.exam_attempts else "—",
            ]
        )
    last = len(rows)
    rows.append(
        [
            "合计",
            "",
            f"{required}学时",
            pdf.format_minutes(counted),
            pdf.format_minutes(confirmed),
            "",
            "",
            "",
        ]
    )
    hours = pdf.table(
        rows,
        st,
        [
            *pdf.grid_commands(header_rows=1),
            ("FONTSIZE", (0, 1), (-1, -1), 9),
            ("ALIGN", (0, 1), (0, -1), "CENTER"),
            ("ALIGN", (2, 1), (-1, -1), "CENTER"),
            ("SPAN", (0, last), (1, last)),
            ("BACKGROUND", (0, last), (-1, last), pdf.HEAD_FILL),
        ],
        colWidths=[15 * mm, 34 * mm, 17 * mm, 21 * mm, 21 * mm, 17 * mm, 28 * mm, 17 * mm],
        repeatRows=1,
    )

    by_status = {code: 0 for code in STATUS_NAMES}
    for rec in data.records:
        by_status[rec.status] = by_status.get(rec.status, 0) + 1
    status_text = "，".join(f"{STATUS_NAMES.get(k, k)} {v} 条" for k, v in by_status.items())
    valid = sum(rec.valid_minutes for rec in data.records)
    invalid = sum(rec.invalid_minutes for rec in data.records)
    tally = pdf.para(
        f"电子教学日志共 {len(data.records)} 条学时记录（{status_text}）；"
        f"有效 {valid} 分钟（{pdf.format_minutes(valid)}），无效 {invalid} 分钟。",
        st.body,
    )

    balance = data.tuition_fen - data.released_fen - data.refunded_fen
    money_rows: list[list[Any]] = [[h("项目"), h("金额"), h("大写")]]
    for name, fen in [
        ("培训费（存入资金监管账户）", data.tuition_fen),
        ("已拨付培训机构", data.released_fen),
        ("其中：按学时记录拨付", sum(paid.values())),
        ("已退还学员", data.refunded_fen),
        ("监管账户余额", balance),
    ]:
        money_rows.append([name, pdf.format_yuan(fen), amount_in_words(fen)])
    money = pdf.table(
        money_rows,
        st,
        [
            *pdf.grid_commands(header_rows=1),
            ("FONTSIZE", (0, 1), (-1, -1), 9.5),
            ("ALIGN", (1, 1), (1, -1), "RIGHT"),
            ("BACKGROUND", (0, -1), (-1, -1), pdf.HEAD_FILL),
        ],
        colWidths=[60 * mm, 35 * mm, width - 95 * mm],
    )
    settled = (
        "资金已结清：培训费已全部拨付或退还，监管账户余额为零。"
        if balance == 0
        else f"监管账户尚有余额 {pdf.format_yuan(balance)}，待结算。"
    )
    return [
        Paragraph("机动车驾驶培训记录", st.title),
        pdf.para(
            f"全国统一编号：{data.learner_no}{pdf.GAP}结业证书编号：{data.certificate_no}",
            st.subtitle,
        ),
        info,
        Paragraph("一、培训学时与考试", st.heading),
        hours,
        Spacer(1, 2 * mm),
        tally,
        Paragraph("二、培训费用（资金监管）", st.heading),
        money,
        Spacer(1, 2 * mm),
        pdf.para(settled, st.note),
        pdf.para("本记录与电子教学日志一致。", st.body),
        pdf.signature_lines(st, width, f"培训机构（盖章）：{data.school.name}", data.graduated_on),
    ]


# 结业证书


def certificate_markup(data: ArchiveData) -> str:
    """The certificate's wording in the light markup (templates/documents/certificate.md.j2)."""
    template = pdf.template_env().get_template(CERTIFICATE_TEMPLATE)
    return template.render(a=data, masked_id=mask_id_number(data.learner.id_number))


def render_certificate_pdf(data: ArchiveData, font_path: Path | str = DEFAULT_FONT_PATH) -> bytes:
    """结业证书: one landscape A4 page with a border and the school's seal area."""
    with pdf.render_lock:
        return _render_certificate(data, pdf.register_font(font_path))


def _render_certificate(data: ArchiveData, font: str) -> bytes:
    base = pdf.styles(font, size=15)
    st = replace(
        base,
        title=ParagraphStyle(
            "cert_title", parent=base.title, fontSize=34, leading=44, textColor=pdf.SEAL_RED
        ),
        body=ParagraphStyle("cert_body", parent=base.body, leading=32, spaceAfter=8),
    )
    buffer = io.BytesIO()
    doc = pdf.new_doc(
        buffer,
        font,
        f"结业证书 {data.certificate_no}",
        "机动车驾驶培训结业证书",
        LANDSCAPE_A4,
        left=36 * mm,
        right=36 * mm,
        top=30 * mm,
        bottom=20 * mm,
    )
    right = ParagraphStyle(
        "cert_right", parent=base.cell, fontSize=13, leading=20, alignment=TA_CENTER
    )
    left = ParagraphStyle("cert_left", parent=base.note, fontSize=10, leading=16)

    def seal() -> Flowable:
        details = "<br/>".join(
            escape(line)
            for line in [
                f"证书编号：{data.certificate_no}",
                f"全国统一编号：{data.learner_no}",
                f"培训机构备案编号：{data.school.filing_no}",
                f"发证地：{data.city_name}",
            ]
        )
        school = [
            pdf.para(data.school.name, right),
            pdf.SealArea(font),
            pdf.para(pdf.format_date(data.graduated_on), right),
        ]
        return pdf.table(
            [[Paragraph(details, left), school]],
            base,
            [("VALIGN", (0, 0), (0, 0), "BOTTOM"), ("ALIGN", (1, 0), (1, 0), "CENTER")],
            colWidths=[doc.width - 90 * mm, 90 * mm],
        )

    def border(canvas: Canvas, _doc: SimpleDocTemplate) -> None:
        width, height = LANDSCAPE_A4
        canvas.saveState()
        canvas.setStrokeColor(pdf.SEAL_RED)
        canvas.setLineWidth(2.2)
        canvas.rect(10 * mm, 10 * mm, width - 20 * mm, height - 20 * mm)
        canvas.setLineWidth(0.6)
        canvas.rect(13 * mm, 13 * mm, width - 26 * mm, height - 26 * mm)
        canvas.setFont(font, 8)
        canvas.setFillColor(pdf.GREY)
        canvas.drawCentredString(
            width / 2, 16 * mm, f"学驾一件事 · 凭证书编号 {data.certificate_no} 可在平台核验"
        )
        canvas.restoreState()

    flowables = pdf.markup_flowables(certificate_markup(data), st, doc.width, {"seal": seal})
    doc.build(flowables, onFirstPage=border, onLaterPages=border)
    return buffer.getvalue()


def render_archive_pdfs(
    data: ArchiveData, font_path: Path | str = DEFAULT_FONT_PATH
) -> dict[str, bytes]:
    """The four archive documents by store kind (see DocumentActivities)."""
    return {
        DocumentActivities.REGISTRATION: render_registration_pdf(data, font_path),
        DocumentActivities.TEACHING_LOG: render_teaching_log_pdf(data, font_path),
        DocumentActivities.TRAINING_RECORDS: render_training_records_pdf(data, font_path),
        DocumentActivities.CERTIFICATE: render_certificate_pdf(data, font_path),
    }


# --- activities ---------------------------------------------------------------------------


class DocumentActivities:
    """Render, store, return the sha256: what the journey keeps in its state."""

    CONTRACT = "contract"
    INVOICE = "invoice"
    REGISTRATION = "registration"
    TEACHING_LOG = "teaching_log"
    TRAINING_RECORDS = "training_records"
    CERTIFICATE = "certificate"

    def __init__(
        self,
        store: DocumentStore,
        font_path: Path | str = DEFAULT_FONT_PATH,
        journey_lines: Callable[[str, str], list[TrainingRecordLine]] | None = None,
    ) -> None:
        self._store = store
        self._font_path = font_path
        # A journey's training records from the read model, by journey id and own coach's name
        # (journeys under the footprint rules keep only their open records).
        self._journey_lines = journey_lines

    @activity.defn(name="documents.render_contract")
    async def render_contract(self, req: RenderContract) -> str:
        signature = base64.b64decode(req.signature_png_b64) if req.signature_png_b64 else None
        document = await asyncio.to_thread(
            render_contract_pdf, req.data, signature, req.signed_at, self._font_path
        )
        return await asyncio.to_thread(self._store.put, document, self.CONTRACT)

    @activity.defn(name="documents.render_invoice")
    async def render_invoice(self, req: RenderInvoice) -> str:
        document = await asyncio.to_thread(render_invoice_pdf, req.data, self._font_path)
        return await asyncio.to_thread(self._store.put, document, self.INVOICE)

    @activity.defn(name="documents.render_archive")
    async def render_archive(self, req: RenderArchive) -> ArchiveDocuments:
        """The four graduation documents, each stored under its own kind."""
        data = req.data
        if req.journey_id:
            if self._journey_lines is None:
                raise DocumentError("the archive needs the journey's records from the read model")
            lines = await asyncio.to_thread(self._journey_lines, req.journey_id, data.coach_name)
            data = replace(data, records=lines)
        documents = await asyncio.to_thread(render_archive_pdfs, data, self._font_path)
        stored = {}
        for kind, document in documents.items():
            stored[kind] = await asyncio.to_thread(self._store.put, document, kind)
        return ArchiveDocuments(
            registration_sha256=stored[self.REGISTRATION],
            teaching_log_sha256=stored[self.TEACHING_LOG],
            training_records_sha256=stored[self.TRAINING_RECORDS],
            certificate_sha256=stored[self.CERTIFICATE],
        )


__all__ = [
    "DEFAULT_FONT_PATH",
    "DocumentActivities",
    "DocumentError",
    "DocumentMissingError",
    "DocumentStore",
    "DocumentTamperedError",
    "amount_in_words",
    "certificate_markup",
    "format_minutes",
    "format_yuan",
    "render_archive_pdfs",
    "render_certificate_pdf",
    "render_contract_pdf",
    "render_invoice_pdf",
    "render_registration_pdf",
    "render_teaching_log_pdf",
    "render_training_records_pdf",
    "sha256_hex",
]
