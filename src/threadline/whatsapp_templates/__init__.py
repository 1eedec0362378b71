"""WhatsApp message templates: drafts, Meta review, sync and sends."""
