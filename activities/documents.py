"""Documents as PDFs: the learner's contract and the e-invoice, plus their content-addressed store.

Rendering uses ReportLab's platypus with an embedded TrueType CJK font (WenQuanYi Micro Hei by
default, see DESIGN.md §9): never the built-in STSong-Light, which is not embedded and renders
blank wherever the reader has no Chinese font. The contract's text is a Jinja2 template in a
light markup (templates/documents/contract.md.j2) that `_markup_flowables` turns into
paragraphs and tables. Each stored PDF is named by its SHA-256 and checked on every read.
"""

import asyncio
import base64
import hashlib
import io
import os
import re
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from temporalio import activity

from workflows.documents_data import (
    ContractData,
    InvoiceData,
    RenderContract,
    RenderInvoice,
)

DEFAULT_FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "documents"
CONTRACT_TEMPLATE = "contract.md.j2"
BEIJING = timezone(timedelta(hours=8), "CST")
SIGNATURE_BOX = (50 * mm, 20 * mm)
# Paragraphs collapse runs of spaces, even U+3000; non-breaking spaces keep the gaps.
_UNFILLED_DATE = "\u00a0" * 12 + "年" + "\u00a0" * 6 + "月" + "\u00a0" * 6 + "日"
CHANNEL_NAMES = {"unionpay": "云闪付", "alipay": "支付宝", "wechat": "微信支付"}

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_SECTION_UNITS = ("", "万", "亿", "万亿")


# --- money -------------------------------------------------------------------------------


def format_yuan(fen: int) -> str:
    """123456 -> '¥1234.56' (negative: '-¥1234.56')."""
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100}.{abs(fen) % 100:02d}"


def amount_in_words(fen: int) -> str:
    """The amount in Chinese capital numerals (大写金额), e.g. 123456 -> 壹仟贰佰叁拾肆元伍角陆分.

    Follows the banks' rules for writing amounts: 整 after 元 when there are no jiao or fen
    (none after 角 or 分), 壹拾 rather than 拾, one 零 for any run of zeros inside the number,
    and 零 between 元 and 分 when the jiao digit is zero (1001.05 -> 壹仟零壹元零伍分).
    """
    if fen < 0:
        return "负" + amount_in_words(-fen)
    yuan_part, rest = divmod(fen, 100)
    jiao, cents = divmod(rest, 10)
    if yuan_part >= 10**16:
        raise ValueError("amount too large")
    words = _integer_in_words(yuan_part)
    if words:
        words += "元"
    if jiao == 0 and cents == 0:
        return (words or "零元") + "整"
    if jiao:
        words += _DIGITS[jiao] + "角"
    if cents:
        if not jiao and words:
            words += "零"
        words += _DIGITS[cents] + "分"
    return words


def _integer_in_words(n: int) -> str:
    sections: list[int] = []
    while n:
        n, section = divmod(n, 10_000)
        sections.append(section)
    out = ""
    pending_zero = False
    for index in range(len(sections) - 1, -1, -1):
        section = sections[index]
        if section == 0:
            pending_zero = bool(out)
            continue
        if out and (pending_zero or section < 1000):
            out += "零"
        out += _section_in_words(section) + _SECTION_UNITS[index]
        pending_zero = False
    return out


def _section_in_words(section: int) -> str:
    """0 < section < 10000, without leading or trailing zeros."""
    out = ""
    zero = False
    for position in range(3, -1, -1):
        digit = section // 10**position % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[digit] + _SMALL_UNITS[position]
    return out


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


# --- fonts and styles ---------------------------------------------------------------------

_registered: dict[str, str] = {}
# ReportLab keeps per-font and per-process state; render one document at a time.
_render_lock = threading.RLock()


def register_font(font_path: Path | str = DEFAULT_FONT_PATH) -> str:
    """Registers the TrueType CJK font once per path and returns its ReportLab name."""
    key = str(font_path)
    with _render_lock:
        if key not in _registered:
            name = "WQY" if not _registered else f"CJK{len(_registered)}"
            pdfmetrics.registerFont(TTFont(name, key, subfontIndex=0))
            pdfmetrics.registerFontFamily(
                name, normal=name, bold=name, italic=name, boldItalic=name
            )
            _registered[key] = name
        return _registered[key]


@dataclass(frozen=True)
class _Styles:
    font: str
    title: ParagraphStyle
    subtitle: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    note: ParagraphStyle
    cell: ParagraphStyle
    cell_head: ParagraphStyle
    cell_right: ParagraphStyle


def _styles(font: str) -> _Styles:
    base = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=17, wordWrap="CJK")
    return _Styles(
        font=font,
        title=ParagraphStyle(
            "title", parent=base, fontSize=17, leading=24, alignment=TA_CENTER, spaceAfter=4
        ),
        subtitle=ParagraphStyle(
            "subtitle",
            parent=base,
            fontSize=9,
            leading=14,
            alignment=TA_CENTER,
            spaceAfter=8,
            textColor=colors.HexColor("#444444"),
        ),
        heading=ParagraphStyle(
            "heading",
            parent=base,
            fontSize=12,
            leading=18,
            spaceBefore=8,
            spaceAfter=3,
            keepWithNext=1,
        ),
        body=ParagraphStyle("para", parent=base, firstLineIndent=21, spaceAfter=3),
        note=ParagraphStyle(
            "note", parent=base, fontSize=8.5, leading=13, textColor=colors.HexColor("#444444")
        ),
        cell=ParagraphStyle("cell", parent=base, fontSize=9.5, leading=14),
        cell_head=ParagraphStyle(
            "cell_head", parent=base, fontSize=9.5, leading=14, alignment=TA_CENTER
        ),
        cell_right=ParagraphStyle(
            "cell_right", parent=base, fontSize=9.5, leading=14, alignment=TA_RIGHT
        ),
    )


# --- page furniture -----------------------------------------------------------------------


def _numbered_canvas(font: str, footer: Callable[[int, int], str]) -> type[Canvas]:
    """A canvas that holds its pages until the end so each can say "第 x 页 共 y 页"."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for page in self._pages:
                self.__dict__.update(page)
                self.setFont(font, 9)
                self.setFillColor(colors.HexColor("#444444"))
                self.drawCentredString(A4[0] / 2, 12 * mm, footer(self._pageNumber, total))
                super().showPage()
            super().save()

    return NumberedCanvas


def _doc(
    buffer: io.BytesIO, font: str, title: str, subject: str, **margins: float
) -> SimpleDocTemplate:
    return SimpleDocTemplate(
        buffer,
        initialFontName=font,  # else every page names a non-embedded Helvetica
        pagesize=A4,
        title=title,
        subject=subject,
        author="学驾一件事",
        creator="学驾一件事",
        invariant=1,
        leftMargin=margins.get("left", 20 * mm),
        rightMargin=margins.get("right", 20 * mm),
        topMargin=margins.get("top", 22 * mm),
        bottomMargin=margins.get("bottom", 22 * mm),
    )


def _table(
    rows: list[list[Any]], st: _Styles, commands: list[tuple[Any, ...]], **kwargs: Any
) -> Table:
    """A table whose plain-string cells use the CJK font too (ReportLab's default is Helvetica,
    which would put a non-embedded font into the PDF)."""
    table = Table(rows, **kwargs)
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), st.font), *commands]))
    return table


# --- the contract -------------------------------------------------------------------------


def _markup_value(value: object) -> str:
    """A template value made safe for the markup: XML-escaped, one line, no cell separators."""
    text = escape("" if value is None else str(value), quote=False)
    return " ".join(text.split("\n")).replace("|", "&#124;")


def _template_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        finalize=_markup_value,
    )
    env.filters["yuan"] = format_yuan
    env.filters["words"] = amount_in_words
    return env


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
    template = _template_env().get_template(CONTRACT_TEMPLATE)
    return template.render(
        c=data, h=data.hours, f=data.fees, reference_total_fen=reference_total_fen(data)
    )


def _format_signed_at(signed_at: str) -> str:
    moment = datetime.fromisoformat(signed_at.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(BEIJING)
    return moment.strftime("%Y年%m月%d日 %H:%M:%S") + "（北京时间）"


def _signature_image(png: bytes) -> Image:
    with PILImage.open(io.BytesIO(png)) as img:
        width, height = img.size
    scale = min(SIGNATURE_BOX[0] / width, SIGNATURE_BOX[1] / height)
    image = Image(io.BytesIO(png), width=width * scale, height=height * scale, mask="auto")
    image.hAlign = "LEFT"
    return image


def _signature_block(
    data: ContractData, st: _Styles, signature_png: bytes | None, signed_at: str | None
) -> Flowable:
    def p(text: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(text, style or st.cell)

    blank = Spacer(SIGNATURE_BOX[0], SIGNATURE_BOX[1])
    learner_sig: Flowable = _signature_image(signature_png) if signature_png else blank
    when = escape(_format_signed_at(signed_at)) if signed_at else _UNFILLED_DATE
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
    table = _table(rows, st, style, colWidths=[85 * mm, 85 * mm], rowHeights=[None, 23 * mm, None])
    return KeepTogether([Spacer(1, 4 * mm), table])


_TABLE_RULE = re.compile(r"^\|(\s*-{2,}\s*\|)+\s*$")


def _split_row(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _markup_table(lines: Sequence[str], st: _Styles, width: float) -> Table:
    rows: list[list[str]] = []
    weights: list[int] | None = None
    header = False
    for line in lines:
        if _TABLE_RULE.match(line.strip()):
            weights = [len(cell) for cell in _split_row(line)]
            header = len(rows) == 1
            continue
        rows.append(_split_row(line))
    columns = max(len(row) for row in rows)
    weights = weights or [1] * columns
    col_widths = [width * w / sum(weights) for w in weights]
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    if header:
        commands += [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#555555")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
        ]
    cells: list[list[Any]] = []
    for r, row in enumerate(rows):
        out: list[Any] = []
        for c in range(columns):
            text = row[c] if c < len(row) else ""
            if text == "<" and c > 0:
                start = c - 1
                while start > 0 and row[start] == "<":
                    start -= 1
                commands.append(("SPAN", (start, r), (c, r)))
                out.append("")
                continue
            style = st.cell_head if header and r == 0 else st.cell
            if header and r > 0 and text.startswith(("¥", "-¥")):
                style = st.cell_right
            out.append(Paragraph(text, style))
        cells.append(out)
    return _table(
        cells, st, commands, colWidths=col_widths, hAlign="LEFT", repeatRows=1 if header else 0
    )


def _markup_flowables(
    markup: str,
    st: _Styles,
    width: float,
    signatures: Callable[[], Flowable],
) -> list[Flowable]:
    flowables: list[Flowable] = []
    paragraph: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if paragraph:
            flowables.append(Paragraph("".join(paragraph), st.body))
            paragraph.clear()
        if table:
            flowables.append(_markup_table(table, st, width))
            flowables.append(Spacer(1, 3 * mm))
            table.clear()

    for raw in markup.splitlines():
        line = raw.strip()
        if line.startswith("|"):
            if paragraph:
                flush()
            table.append(line)
            continue
        if table:
            flush()
        if not line:
            flush()
        elif line.startswith("# "):
            flush()
            flowables.append(Paragraph(line[2:], st.title))
        elif line.startswith("## "):
            flush()
            flowables.append(Paragraph(line[3:], st.heading))
        elif line.startswith("^ "):
            flush()
            flowables.append(Paragraph(line[2:], st.subtitle))
        elif line.startswith("> "):
            flush()
            flowables.append(Paragraph(line[2:], st.note))
        elif line == "::signatures":
            flush()
            flowables.append(signatures())
        elif line == "::pagebreak":
            flush()
            flowables.append(PageBreak())
        else:
            paragraph.append(line)
    flush()
    return flowables


def render_contract_pdf(
    data: ContractData,
    signature_png: bytes | None,
    signed_at: str | None,
    font_path: Path | str = DEFAULT_FONT_PATH,
) -> bytes:
    """The contract as an A4 PDF; without a signature it is the unsigned preview."""
    with _render_lock:
        return _render_contract(data, signature_png, signed_at, register_font(font_path))


def _render_contract(
    data: ContractData, signature_png: bytes | None, signed_at: str | None, font: str
) -> bytes:
    st = _styles(font)
    buffer = io.BytesIO()
    doc = _doc(
        buffer, font, f"机动车驾驶培训服务合同 {data.contract_no}", "先学后付、计时收费模式服务合同"
    )
    flowables = _markup_flowables(
        contract_markup(data),
        st,
        doc.width,
        lambda: _signature_block(data, st, signature_png, signed_at),
    )

    def header(canvas: Canvas, _doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(font, 8.5)
        canvas.setFillColor(colors.HexColor("#444444"))
        top = A4[1] - 13 * mm
        canvas.drawString(20 * mm, top, "学驾一件事 · 机动车驾驶培训服务合同")
        canvas.drawRightString(A4[0] - 20 * mm, top, f"合同编号：{data.contract_no}")
        canvas.setStrokeColor(colors.HexColor("#999999"))
        canvas.setLineWidth(0.4)
        canvas.line(20 * mm, top - 2.5 * mm, A4[0] - 20 * mm, top - 2.5 * mm)
        canvas.restoreState()

    doc.build(
        flowables,
        onFirstPage=header,
        onLaterPages=header,
        canvasmaker=_numbered_canvas(font, lambda n, total: f"第 {n} 页 共 {total} 页"),
    )
    return buffer.getvalue()


# --- the e-invoice ------------------------------------------------------------------------


def _format_issued(issued_at: str) -> str:
    try:
        moment = datetime.fromisoformat(issued_at.replace("Z", "+00:00"))
    except ValueError:
        return issued_at
    if moment.tzinfo is not None:
        moment = moment.astimezone(BEIJING)
    return moment.strftime("%Y年%m月%d日")


def render_invoice_pdf(data: InvoiceData, font_path: Path | str = DEFAULT_FONT_PATH) -> bytes:
    """An e-invoice (电子发票（普通发票）) for a payment into escrow, on one A4 page."""
    if sum(item.amount_fen for item in data.items) != data.total_fen:
        raise ValueError("invoice total does not equal the sum of its items")
    with _render_lock:
        return _render_invoice(data, register_font(font_path))


def _render_invoice(data: InvoiceData, font: str) -> bytes:
    st = _styles(font)
    red = colors.HexColor("#9c2a1a")
    buffer = io.BytesIO()
    doc = _doc(buffer, font, f"电子发票 {data.invoice_no}", "电子发票（普通发票）", top=18 * mm)
    width = doc.width

    def p(text: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(text, style or st.cell)

    title_style = ParagraphStyle("inv_title", parent=st.title, textColor=red, fontSize=18)
    label = ParagraphStyle("inv_label", parent=st.cell, textColor=red)
    meta = _table(
        [
            [p("发票代码：", label), p(escape(data.invoice_code))],
            [p("发票号码：", label), p(escape(data.invoice_no))],
            [p("开票日期：", label), p(escape(_format_issued(data.issued_at)))],
            [p("校验码：", label), p(escape(data.check_code))],
        ],
        st,
        [("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)],
        colWidths=[22 * mm, 48 * mm],
        hAlign="RIGHT",
    )

    parties = _table(
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
    items = _table(
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

    footer = _table(
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


# --- activities ---------------------------------------------------------------------------


class DocumentActivities:
    """Render, store, return the sha256: what the journey keeps in its state."""

    CONTRACT = "contract"
    INVOICE = "invoice"

    def __init__(self, store: DocumentStore, font_path: Path | str = DEFAULT_FONT_PATH) -> None:
        self._store = store
        self._font_path = font_path

    @activity.defn(name="documents.render_contract")
    async def render_contract(self, req: RenderContract) -> str:
        signature = base64.b64decode(req.signature_png_b64) if req.signature_png_b64 else None
        pdf = await asyncio.to_thread(
            render_contract_pdf, req.data, signature, req.signed_at, self._font_path
        )
        return await asyncio.to_thread(self._store.put, pdf, self.CONTRACT)

    @activity.defn(name="documents.render_invoice")
    async def render_invoice(self, req: RenderInvoice) -> str:
        pdf = await asyncio.to_thread(render_invoice_pdf, req.data, self._font_path)
        return await asyncio.to_thread(self._store.put, pdf, self.INVOICE)


__all__ = [
    "DEFAULT_FONT_PATH",
    "DocumentActivities",
    "DocumentError",
    "DocumentMissingError",
    "DocumentStore",
    "DocumentTamperedError",
    "amount_in_words",
    "format_yuan",
    "render_contract_pdf",
    "render_invoice_pdf",
    "sha256_hex",
]
