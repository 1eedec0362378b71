"""Reaching a config's business account on the Graph API: read before any request leaves."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from threadline.config import Settings
from threadline.kit.crypto import Cipher
from threadline.messaging.outcomes import DeliveryTarget
from threadline.models import WhatsappConfig
from threadline.whatsapp.client import WhatsAppClient
from threadline.whatsapp.errors import GraphError
from threadline.whatsapp_configs.service import graph_url


@dataclass(frozen=True)
class Account:
    """A WABA and the config (token, Graph address) that reaches it."""

    target: DeliveryTarget
    waba_id: str

    def client(self, http: httpx.AsyncClient) -> WhatsAppClient:
        """A Graph client for the account, on the process's pooled ``http``."""
        return self.target.client(http)


def account_of(config: WhatsappConfig, settings: Settings, cipher: Cipher) -> Account:
    """The account of ``config``, its token decrypted (sandbox configs reach this sandbox)."""
    target = DeliveryTarget(
        graph_url(config, settings),
        config.phone_number_id,
        cipher.decrypt(config.access_token_encrypted),
        config.api_version,
    )
    return Account(target, config.waba_id)


def describe(error: GraphError) -> str:
    """Meta's refusal in one sentence."""
    return f"Meta answered HTTP {error.http_status}, error {error.code}: {error.message}"
