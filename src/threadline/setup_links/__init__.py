"""Setup links: a page a customer opens to connect its WhatsApp number (onboarding)."""
