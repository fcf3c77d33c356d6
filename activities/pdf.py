"""The shared ReportLab machinery behind every document (activities/documents.py).

An embedded TrueType CJK font (WenQuanYi Micro Hei by default, see DESIGN.md §9), never the
built-in STSong-Light, which is not embedded and renders blank wherever the reader has no
Chinese font; paragraph styles; a canvas that numbers pages "第 x 页 共 y 页"; a running
header; tables whose plain-string cells use the CJK font; a light text markup (documented in
templates/documents/contract.md.j2) turned into paragraphs and tables; money and date
formatting. Documents are built with `invariant=1`, so the same input gives the same bytes.
"""

import io
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
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
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

DEFAULT_FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "documents"
BEIJING = timezone(timedelta(hours=8), "CST")
GREY = colors.HexColor("#444444")
RULE = colors.HexColor("#999999")
GRID = colors.HexColor("#555555")
HEAD_FILL = colors.HexColor("#e8edf3")
SECTION_FILL = colors.HexColor("#d5dde8")
SEAL_RED = colors.HexColor("#b3261e")
# Paragraphs collapse runs of spaces, even U+3000; non-breaking spaces keep the gaps.
UNFILLED_DATE = "\u00a0" * 12 + "年" + "\u00a0" * 6 + "月" + "\u00a0" * 6 + "日"
GAP = "\u00a0" * 4  # between items on one line

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


# --- dates --------------------------------------------------------------------------------


def parse_moment(value: str) -> datetime:
    """An ISO date or datetime; an aware one is moved to Beijing time."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(BEIJING)
    return moment


def format_date(value: str) -> str:
    """'2026-03-01' (or an ISO datetime) -> '2026年03月01日'; '' -> '—'; unparseable: as is."""
    if not value:
        return "—"
    try:
        return parse_moment(value).strftime("%Y年%m月%d日")
    except ValueError:
        return value


def format_moment(value: str) -> str:
    """An ISO datetime -> '2026年03月01日 10:15:30（北京时间）'."""
    return parse_moment(value).strftime("%Y年%m月%d日 %H:%M:%S") + "（北京时间）"


# --- hours ----------------------------------------------------------------------------


def format_minutes(minutes: int) -> str:
    """Minutes as 学时 (60 minutes each): 960 -> '16学时', 1005 -> '16学时45分'."""
    hours, rest = divmod(minutes, 60)
    return f"{hours}学时{rest}分" if rest else f"{hours}学时"


# --- fonts and styles ---------------------------------------------------------------------

_registered: dict[str, str] = {}
# ReportLab keeps per-font and per-process state; render one document at a time.
render_lock = threading.RLock()


def register_font(font_path: Path | str = DEFAULT_FONT_PATH) -> str:
    """Registers the TrueType CJK font once per path and returns its ReportLab name."""
    key = str(font_path)
    with render_lock:
        if key not in _registered:
            name = "WQY" if not _registered else f"CJK{len(_registered)}"
            pdfmetrics.registerFont(TTFont(name, key, subfontIndex=0))
            pdfmetrics.registerFontFamily(
                name, normal=name, bold=name, italic=name, boldItalic=name
            )
            _registered[key] = name
        return _registered[key]


@dataclass(frozen=True)
class Styles:
    font: str
    title: ParagraphStyle
    subtitle: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    note: ParagraphStyle
    cell: ParagraphStyle
    cell_head: ParagraphStyle
    cell_right: ParagraphStyle


def styles(font: str, size: float = 10.5) -> Styles:
    """The document styles; `size` scales them all (10.5 pt body text by default)."""
    k = size / 10.5
    base = ParagraphStyle("body", fontName=font, fontSize=size, leading=17 * k, wordWrap="CJK")
    cell = 9.5 * k
    return Styles(
        font=font,
        title=ParagraphStyle(
            "title", parent=base, fontSize=17 * k, leading=24 * k, alignment=TA_CENTER, spaceAfter=4
        ),
        subtitle=ParagraphStyle(
            "subtitle",
            parent=base,
            fontSize=9 * k,
            leading=14 * k,
            alignment=TA_CENTER,
            spaceAfter=8,
            textColor=GREY,
        ),
        heading=ParagraphStyle(
            "heading",
            parent=base,
            fontSize=12 * k,
            leading=18 * k,
            spaceBefore=8,
            spaceAfter=3,
            keepWithNext=1,
        ),
        body=ParagraphStyle("para", parent=base, firstLineIndent=2 * size, spaceAfter=3),
        note=ParagraphStyle("note", parent=base, fontSize=8.5 * k, leading=13 * k, textColor=GREY),
        cell=ParagraphStyle("cell", parent=base, fontSize=cell, leading=14 * k),
        cell_head=ParagraphStyle(
            "cell_head", parent=base, fontSize=cell, leading=14 * k, alignment=TA_CENTER
        ),
        cell_right=ParagraphStyle(
            "cell_right", parent=base, fontSize=cell, leading=14 * k, alignment=TA_RIGHT
        ),
    )


# --- page furniture -----------------------------------------------------------------------


def numbered_canvas(font: str, footer: Callable[[int, int], str]) -> type[Canvas]:
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
                self.setFillColor(GREY)
                width = self._pagesize[0]
                self.drawCentredString(width / 2, 12 * mm, footer(self._pageNumber, total))
                super().showPage()
            super().save()

    return NumberedCanvas


def page_numbers(font: str) -> type[Canvas]:
    return numbered_canvas(font, lambda n, total: f"第 {n} 页 共 {total} 页")


def running_header(
    font: str, left: str, right: str, margin: float = 20 * mm
) -> Callable[[Canvas, SimpleDocTemplate], None]:
    """An onPage callback: a small grey line of text over a rule at the top of every page."""

    def header(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        width, height = doc.pagesize
        canvas.saveState()
        canvas.setFont(font, 8.5)
        canvas.setFillColor(GREY)
        top = height - 13 * mm
        canvas.drawString(margin, top, left)
        canvas.drawRightString(width - margin, top, right)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.4)
        canvas.line(margin, top - 2.5 * mm, width - margin, top - 2.5 * mm)
        canvas.restoreState()

    return header


def new_doc(
    buffer: io.BytesIO,
    font: str,
    title: str,
    subject: str,
    pagesize: tuple[float, float] = A4,
    **margins: float,
) -> SimpleDocTemplate:
    return SimpleDocTemplate(
        buffer,
        initialFontName=font,  # else every page names a non-embedded Helvetica
        pagesize=pagesize,
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


def table(
    rows: list[list[Any]], st: Styles, commands: list[tuple[Any, ...]], **kwargs: Any
) -> Table:
    """A table whose plain-string cells use the CJK font too (ReportLab's default is Helvetica,
    which would put a non-embedded font into the PDF)."""
    out = Table(rows, **kwargs)
    out.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), st.font), *commands]))
    return out


def grid_commands(header_rows: int = 0, padding: float = 3) -> list[tuple[Any, ...]]:
    """A ruled table, its first `header_rows` rows shaded."""
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), padding),
        ("BOTTOMPADDING", (0, 0), (-1, -1), padding + 1),
    ]
    if header_rows:
        commands.append(("BACKGROUND", (0, 0), (-1, header_rows - 1), HEAD_FILL))
    return commands


# --- forms --------------------------------------------------------------------------------


def para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


Field = tuple[str, str]  # (label, value): plain text, escaped when drawn


def field_grid(
    rows: Sequence[str | Sequence[Field]],
    st: Styles,
    width: float,
    pairs: int = 2,
    label_width: float = 27 * mm,
    aside: tuple[str, int, int, float] | None = None,
    padding: float = 3,
) -> Flowable:
    """A ruled form: each row holds up to `pairs` (label, value) pairs, its last value
    stretching to the right edge; a row given as a str is a section heading across the form.
    `aside` = (text, first_row, last_row, width) puts one tall cell (a photo box) on the right."""
    columns = 2 * pairs + (1 if aside else 0)
    aside_width = aside[3] if aside else 0
    value_width = (width - aside_width - pairs * label_width) / pairs
    widths = [label_width, value_width] * pairs + ([aside_width] if aside else [])
    label = ParagraphStyle("grid_label", parent=st.cell, alignment=TA_CENTER)
    section = ParagraphStyle("grid_section", parent=st.cell, fontSize=st.cell.fontSize + 0.5)
    commands = grid_commands(padding=padding)
    cells: list[list[Any]] = []
    for r, row in enumerate(rows):
        beside = aside is not None and aside[1] <= r <= aside[2]
        end = columns - 1 - (1 if beside else 0)  # the last column this row may use
        if isinstance(row, str):
            cells.append([para(row, section)] + [""] * (columns - 1))
            commands += [
                ("SPAN", (0, r), (end, r)),
                ("BACKGROUND", (0, r), (end, r), SECTION_FILL),
            ]
            continue
        out: list[Any] = []
        for label_text, value in row:
            out += [para(label_text, label), para(value or "—", st.cell)]
            commands.append(("BACKGROUND", (len(out) - 2, r), (len(out) - 2, r), HEAD_FILL))
        if len(out) - 1 < end:
            commands.append(("SPAN", (len(out) - 1, r), (end, r)))
        cells.append(out + [""] * (columns - len(out)))
    if aside is not None:
        text, first, last, _ = aside
        cells[first][-1] = para(text, st.cell_head)
        commands.append(("SPAN", (columns - 1, first), (columns - 1, last)))
    return table(cells, st, commands, colWidths=widths)


def signature_lines(st: Styles, width: float, right: str, date: str) -> Flowable:
    """The learner signs on the left, the school seals on the right (of the printed copy)."""
    rows = [
        [para("学员签名：", st.cell), para(right, st.cell)],
        ["", ""],
        [
            Paragraph(f"日期：{UNFILLED_DATE}", st.cell),
            para(f"日期：{format_date(date)}", st.cell),
        ],
    ]
    block = table(
        rows,
        st,
        [
            ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
            ("LEFTPADDING", (0, 0), (-1, -1), 2),
            ("LINEBELOW", (0, 1), (0, 1), 0.6, colors.black),
        ],
        colWidths=[width / 2 - 10 * mm, width / 2 + 10 * mm],
        rowHeights=[None, 16 * mm, None],
    )
    return KeepTogether([Spacer(1, 6 * mm), block])


class SealArea(Flowable):
    """Where the school's seal goes: a dashed circle with a faint caption."""

    def __init__(self, font: str, diameter: float = 40 * mm, caption: str = "（盖章处）") -> None:
        super().__init__()
        self.font, self.diameter, self.caption = font, diameter, caption
        self.width = self.height = diameter

    def draw(self) -> None:
        c = self.canv
        r = self.diameter / 2
        c.saveState()
        c.setStrokeColor(SEAL_RED)
        c.setLineWidth(0.8)
        c.setDash(3, 2)
        c.circle(r, r, r - 1)
        c.setFillColor(SEAL_RED)
        c.setFont(self.font, 9)
        c.drawCentredString(r, r - 3, self.caption)
        c.restoreState()


# --- the light markup ---------------------------------------------------------------------


def markup_value(value: object) -> str:
    """A template value made safe for the markup: XML-escaped, one line, no cell separators."""
    text = escape("" if value is None else str(value), quote=False)
    return " ".join(text.split("\n")).replace("|", "&#124;")


def template_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        finalize=markup_value,
    )
    env.filters["yuan"] = format_yuan
    env.filters["words"] = amount_in_words
    env.filters["date"] = format_date
    return env


_TABLE_RULE = re.compile(r"^\|(\s*-{2,}\s*\|)+\s*$")


def _split_row(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _markup_table(lines: Sequence[str], st: Styles, width: float) -> Table:
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
            ("GRID", (0, 0), (-1, -1), 0.5, GRID),
            ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
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
    return table(
        cells, st, commands, colWidths=col_widths, hAlign="LEFT", repeatRows=1 if header else 0
    )


def markup_flowables(
    markup: str,
    st: Styles,
    width: float,
    blocks: Mapping[str, Callable[[], Flowable]],
) -> list[Flowable]:
    """Flowables for the light markup; a line "::name" inserts `blocks[name]()`, and
    "::pagebreak" a new page."""
    flowables: list[Flowable] = []
    paragraph: list[str] = []
    rows: list[str] = []

    def flush() -> None:
        if paragraph:
            flowables.append(Paragraph("".join(paragraph), st.body))
            paragraph.clear()
        if rows:
            flowables.append(_markup_table(rows, st, width))
            flowables.append(Spacer(1, 3 * mm))
            rows.clear()

    for raw in markup.splitlines():
        line = raw.strip()
        if line.startswith("|"):
            if paragraph:
                flush()
            rows.append(line)
            continue
        if rows:
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
        elif line == "::pagebreak":
            flush()
            flowables.append(PageBreak())
        elif line.startswith("::"):
            flush()
            flowables.append(blocks[line[2:]]())
        else:
            paragraph.append(line)
    flush()
    return flowables
