"""WhatsApp messages through the API: a conversation's history, sends, read receipts, media."""
