"""Serving stored PDFs (contracts, invoices) by their SHA-256."""

from urllib.parse import quote

from fastapi.responses import Response

from activities.documents import DocumentStore
from api.errors import not_found
from core.config import Settings


def store_for(settings: Settings) -> DocumentStore:
    return DocumentStore(settings.data_dir / "documents")


def pdf_response(settings: Settings, kind: str, sha256: str, filename: str) -> Response:
    if not sha256:
        raise not_found(kind)
    try:
        data = store_for(settings).get(sha256, kind)
    except FileNotFoundError as exc:
        raise not_found(kind) from exc
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}",
            "X-Content-SHA256": sha256,
        },
    )
