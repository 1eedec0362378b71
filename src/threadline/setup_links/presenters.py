"""Setup link rows as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

from threadline.config import Settings
from threadline.kit.crypto import Cipher
from threadline.kit.schemas import PageMeta, PageParams
from threadline.models import SetupLink
from threadline.setup_links import service
from threadline.setup_links.schemas import (
    ConnectionType,
    SetupLinkOut,
    SetupLinkPage,
    SetupLinkPageMeta,
)

Status = Literal["active", "used", "expired", "revoked"]


def present(link: SetupLink, cipher: Cipher, settings: Settings, now: datetime) -> SetupLinkOut:
    """A link with its URL, its status as of ``now`` and its theme's colours."""
    return SetupLinkOut(
        id=link.id,
        status=cast(Status, service.status_of(link, now)),
        expires_at=link.expires_at,
        url=service.url_of(link, cipher, settings),
        success_redirect_url=link.success_redirect_url,
        failure_redirect_url=link.failure_redirect_url,
        allowed_connection_types=cast(list[ConnectionType], link.allowed_connection_types),
        provision_phone_number=link.provision_phone_number,
        phone_number_area_code=link.phone_number_area_code,
        phone_number_country_isos=link.phone_number_country_isos,
        provisioned_phone_number=None,
        theme_config=service.theme_of(link),
        whatsapp_config_id=link.whatsapp_config_id,
        used_at=link.used_at,
        created_at=link.created_at,
        updated_at=link.updated_at,
    )


def page(
    links: list[SetupLink],
    total: int,
    params: PageParams,
    cipher: Cipher,
    settings: Settings,
    now: datetime,
) -> SetupLinkPage:
    """A page of links; the meta carries ``page`` and ``current_page`` alike."""
    data = [present(link, cipher, settings, now) for link in links]
    meta = PageMeta.of(page=params.page, per_page=params.per_page, total_count=total)
    paged = SetupLinkPageMeta(**meta.model_dump(), current_page=meta.page)
    return SetupLinkPage(data=data, meta=paged)
