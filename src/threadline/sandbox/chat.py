"""The chat page: a person plays a WhatsApp user against the platform, in a browser.

Static HTML and JavaScript shipped with the package (no CDN, no build step). The page only
talks to the control plane: ``/_sandbox/phones``, ``/_sandbox/thread``,
``/_sandbox/thread/read`` and ``/_sandbox/inbound``.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

router = APIRouter(prefix="/_sandbox", tags=["sandbox chat page"])
_STATIC = resources.files("threadline.sandbox") / "static"


@router.get("/chat", response_class=HTMLResponse)
async def chat_page() -> HTMLResponse:
    """The chat page (pick a phone, see the thread, send text, tap buttons and list rows)."""
    return HTMLResponse((_STATIC / "chat.html").read_text(encoding="utf-8"))


@router.get("/chat.js", include_in_schema=False)
async def chat_script() -> Response:
    """The chat page's script."""
    script = (_STATIC / "chat.js").read_text(encoding="utf-8")
    return Response(script, media_type="text/javascript")
