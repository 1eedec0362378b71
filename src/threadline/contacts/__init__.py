"""WhatsApp contacts: the users who write to a project's numbers, and notes about them."""
