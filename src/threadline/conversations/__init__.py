"""WhatsApp conversations: threads between a number and a contact, and their inbound queue."""
