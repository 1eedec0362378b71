"""Setup links as the API reads and shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from threadline.kit.schemas import PageMeta

ConnectionType = Literal["coexistence", "dedicated"]
Color = Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$")]
CountryIso = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


def _redirect_url(value: str) -> str:
    if not value.startswith(("https://", "http://")) or not value.split("//", 1)[1]:
        raise ValueError("must be an http:// or https:// URL")
    return value


RedirectUrl = Annotated[str, Field(max_length=2000), AfterValidator(_redirect_url)]


class ThemeConfig(BaseModel):
    """The setup page's colours; those not given keep the page's defaults."""

    model_config = ConfigDict(extra="forbid")

    primary_color: Color | None = None
    primary_foreground_color: Color | None = None
    background_color: Color | None = None
    text_color: Color | None = None
    muted_text_color: Color | None = None
    card_color: Color | None = None
    muted_color: Color | None = None
    border_color: Color | None = None
    secondary_color: Color | None = None
    secondary_foreground_color: Color | None = None
    destructive_color: Color | None = None
    destructive_foreground_color: Color | None = None


#: The page's colours where a link's theme sets none.
DEFAULT_THEME: dict[str, str] = {
    "primary_color": "#3b82f6",
    "primary_foreground_color": "#ffffff",
    "background_color": "#ffffff",
    "text_color": "#0f172a",
    "muted_text_color": "#64748b",
    "card_color": "#f8fafc",
    "muted_color": "#f1f5f9",
    "border_color": "#e2e8f0",
    "secondary_color": "#f1f5f9",
    "secondary_foreground_color": "#0f172a",
    "destructive_color": "#ef4444",
    "destructive_foreground_color": "#fef2f2",
}


class SetupLinkFields(BaseModel):
    """What a new link may set (``POST``); every field is optional."""

    model_config = ConfigDict(extra="forbid")

    success_redirect_url: RedirectUrl | None = None
    failure_redirect_url: RedirectUrl | None = None
    allowed_connection_types: list[ConnectionType] | None = Field(default=None, min_length=1)
    provision_phone_number: bool | None = None
    phone_number_area_code: str | None = Field(default=None, pattern=r"^[0-9]{2,6}$")
    phone_number_country_isos: list[CountryIso] | None = None
    theme_config: ThemeConfig | None = None


class SetupLinkUpdateFields(SetupLinkFields):
    """What ``PATCH`` may change: the fields of a new link, its status and its expiry."""

    status: Literal["active", "expired", "revoked"] | None = Field(
        default=None, description="revoked or expired ends the link; used cannot be set"
    )
    expires_at: AwareDatetime | None = None


class SetupLinkCreate(BaseModel):
    """``POST /customers/{id}/setup_links`` body (optional: ``{}`` makes a default link)."""

    model_config = ConfigDict(extra="forbid")

    setup_link: SetupLinkFields = Field(default_factory=SetupLinkFields)


class SetupLinkUpdate(BaseModel):
    """``PATCH /customers/{id}/setup_links/{id}`` body."""

    model_config = ConfigDict(extra="forbid")

    setup_link: SetupLinkUpdateFields = Field(default_factory=SetupLinkUpdateFields)


class ProvisionedPhoneNumber(BaseModel):
    """A number bought for the customer (Threadline provisions none: always null)."""

    id: uuid.UUID
    phone_number: str
    area_code: str
    status: Literal["active", "released"]


class SetupLinkOut(BaseModel):
    """A setup link; ``status`` reads ``expired`` once ``expires_at`` has passed."""

    id: uuid.UUID
    status: Literal["active", "used", "expired", "revoked"]
    expires_at: datetime
    url: str = Field(description="The page to give the customer")
    success_redirect_url: str | None
    failure_redirect_url: str | None
    allowed_connection_types: list[ConnectionType]
    provision_phone_number: bool
    phone_number_area_code: str | None
    phone_number_country_isos: list[str]
    provisioned_phone_number: ProvisionedPhoneNumber | None = None
    theme_config: dict[str, str] = Field(description="The page's colours, defaults included")
    whatsapp_config_id: uuid.UUID | None = Field(
        description="The config the link connected (once used)"
    )
    used_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SetupLinkPageMeta(PageMeta):
    """The list's pagination: ``page``, and ``current_page`` as ``openapi.yaml`` names it."""

    current_page: int


class SetupLinkPage(BaseModel):
    """``GET /customers/{id}/setup_links``: a page of links, newest first."""

    data: list[SetupLinkOut]
    meta: SetupLinkPageMeta
