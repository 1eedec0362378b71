"""WhatsApp config rows as the API shows them (never a secret)."""

from __future__ import annotations

from threadline.config import Settings
from threadline.models import WhatsappConfig
from threadline.whatsapp_configs.schemas import WhatsappConfigOut
from threadline.whatsapp_configs.service import graph_url


def describe(config: WhatsappConfig, settings: Settings) -> WhatsappConfigOut:
    """One config; its Graph and webhook URLs resolved for this server."""
    display = config.display_phone_number
    return WhatsappConfigOut(
        id=config.id,
        name=config.name,
        display_name=f"{config.name} ({display})" if display else config.name,
        kind="sandbox" if config.kind == "sandbox" else "production",
        phone_number_id=config.phone_number_id,
        business_account_id=config.waba_id,
        display_phone_number=display,
        display_phone_number_normalized="".join(ch for ch in display if ch.isdigit()),
        is_coexistence=config.is_coexistence,
        webhook_verified_at=config.webhook_verified_at,
        customer_id=config.customer_id,
        inbound_processing_enabled=config.inbound_processing_enabled,
        calls_enabled=config.calls_enabled,
        is_default=config.is_default,
        api_version=config.api_version,
        graph_url=graph_url(config, settings),
        webhook_url=f"{settings.webhook_url()}/{config.id}",
        webhook_verify_token_set=config.webhook_verify_token_encrypted is not None,
        app_secret_set=config.app_secret_encrypted is not None,
        created_at=config.created_at,
        updated_at=config.updated_at,
    )


def describe_all(configs: list[WhatsappConfig], settings: Settings) -> list[WhatsappConfigOut]:
    """Several configs, in order."""
    return [describe(config, settings) for config in configs]
