"""The pagination headers some of the reference's lists send beside ``meta``."""

from __future__ import annotations

from starlette.datastructures import URL
from starlette.responses import Response

from threadline.kit.schemas import PageMeta


def set_headers(response: Response, url: URL, meta: PageMeta) -> None:
    """``Total``, ``Total-Pages``, ``Per-Page``, ``Page`` and ``Link`` (first, prev, next,
    last: the request's URL with its ``page`` replaced)."""
    response.headers["Total"] = str(meta.total_count)
    response.headers["Total-Pages"] = str(meta.total_pages)
    response.headers["Per-Page"] = str(meta.per_page)
    response.headers["Page"] = str(meta.page)
    response.headers["Link"] = ", ".join(
        f'<{url.include_query_params(page=page, per_page=meta.per_page)}>; rel="{rel}"'
        for rel, page in _links(meta)
    )


def _links(meta: PageMeta) -> list[tuple[str, int]]:
    links = [("first", 1)]
    if meta.page > 1:
        links.append(("prev", min(meta.page - 1, meta.total_pages)))
    if meta.page < meta.total_pages:
        links.append(("next", meta.page + 1))
    links.append(("last", meta.total_pages))
    return links
