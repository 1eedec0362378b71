"""Kapso's WhatsApp proxy: the Graph API surface under ``/meta/whatsapp/{version}``."""
