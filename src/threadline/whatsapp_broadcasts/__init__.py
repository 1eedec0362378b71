"""WhatsApp broadcasts: one approved template to many numbers, paced to the number."""
