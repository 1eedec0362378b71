"""WhatsApp display name change requests, reviewed by Meta."""
