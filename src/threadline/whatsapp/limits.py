"""Limits Meta enforces on outgoing Cloud API messages.

Shared by the payload builders (to fail fast before a network call) and by the sandbox
(to reject the same payloads Meta would).
"""

from __future__ import annotations

from typing import Final

TEXT_BODY_MAX: Final = 4096
MEDIA_CAPTION_MAX: Final = 1024
INTERACTIVE_BODY_MAX: Final = 1024
INTERACTIVE_HEADER_MAX: Final = 60
INTERACTIVE_FOOTER_MAX: Final = 60

BUTTONS_MIN: Final = 1
BUTTONS_MAX: Final = 3
BUTTON_TITLE_MAX: Final = 20
BUTTON_ID_MAX: Final = 256

LIST_BUTTON_TEXT_MAX: Final = 20
LIST_SECTIONS_MAX: Final = 10
LIST_ROWS_MAX: Final = 10
LIST_SECTION_TITLE_MAX: Final = 24
LIST_ROW_ID_MAX: Final = 200
LIST_ROW_TITLE_MAX: Final = 24
LIST_ROW_DESCRIPTION_MAX: Final = 72

CTA_DISPLAY_TEXT_MAX: Final = 20
BIZ_OPAQUE_CALLBACK_DATA_MAX: Final = 512
TEMPLATE_TEXT_PARAM_MAX: Final = 1024
CONTACTS_MAX: Final = 257
#: Meta's largest media file (a document); a download through Threadline stops beyond it.
MEDIA_DOWNLOAD_MAX_BYTES: Final = 100 * 1024 * 1024
