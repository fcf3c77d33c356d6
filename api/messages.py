"""Chinese messages for validation errors, chosen by the error's type (which stays the code).

Pydantic's own messages are English and quote the input; here each error type maps to one
Chinese sentence that may quote only the schema's own limits (`ctx`), never the input.
Errors raised by our own validators (`PydanticCustomError` with a type pydantic does not
know) already carry a Chinese message and keep it; a plain `value_error` comes from library
code in English and gets the general message.
"""

from typing import Any, get_args

from pydantic_core import core_schema

BUILT_IN_TYPES = frozenset(get_args(core_schema.ErrorType))
FALLBACK = "输入无效"
DATE_EXAMPLE = "须为日期，如 2026-01-31"
DATETIME_EXAMPLE = "须为带时区的日期时间，如 2026-01-31T09:00:00+08:00"

MESSAGES: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不允许此字段",
    "json_invalid": "不是有效的 JSON",
    "json_type": "须为 JSON 文本",
    "model_type": "须为 JSON 对象",
    "model_attributes_type": "须为 JSON 对象",
    "dict_type": "须为 JSON 对象",
    "list_type": "须为数组",
    "too_short": "至少 {min_length} 项",
    "too_long": "至多 {max_length} 项",
    "string_type": "须为字符串",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "至多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "string_unicode": "含有无效的字符编码",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "int_from_float": "须为整数",
    "int_parsing_size": "数值过大",
    "float_type": "须为数字",
    "float_parsing": "须为数字",
    "finite_number": "须为有限的数字",
    "bool_type": "须为 true 或 false",
    "bool_parsing": "须为 true 或 false",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "literal_error": "须为以下之一：{expected}",
    "enum": "须为以下之一：{expected}",
    "date_type": DATE_EXAMPLE,
    "date_parsing": DATE_EXAMPLE,
    "date_from_datetime_parsing": DATE_EXAMPLE,
    "date_from_datetime_inexact": DATE_EXAMPLE,
    "datetime_type": DATETIME_EXAMPLE,
    "datetime_parsing": DATETIME_EXAMPLE,
    "datetime_from_date_parsing": DATETIME_EXAMPLE,
    "datetime_object_invalid": DATETIME_EXAMPLE,
    "timezone_aware": "须带时区",
    "bytes_type": "须为文件",
    "bytes_too_long": "文件过大",
}


def safe_text(value: object, limit: int = 200) -> str:
    """`value` as text that always encodes to UTF-8 (a lone surrogate becomes "?")."""
    return str(value)[:limit].encode("utf-8", "replace").decode("utf-8")


def _limits(ctx: dict[str, Any]) -> dict[str, str]:
    limits = {key: safe_text(value) for key, value in ctx.items()}
    if "expected" in limits:  # "'a', 'b' or 'c'" -> "'a'、'b'、'c'"
        limits["expected"] = limits["expected"].replace(" or ", ", ").replace(", ", "、")
    return limits


def message_for(error: dict[str, Any]) -> str:
    """The Chinese message for one pydantic-style error dict."""
    kind = error.get("type", "")
    template = MESSAGES.get(kind)
    if template is None:
        return FALLBACK if kind in BUILT_IN_TYPES else safe_text(error.get("msg") or FALLBACK)
    try:
        return template.format_map(_limits(error.get("ctx") or {}))
    except (KeyError, ValueError):
        return FALLBACK
