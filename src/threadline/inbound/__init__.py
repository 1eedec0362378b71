"""Meta's webhooks: received, checked, stored, then turned into messages that drive flows."""
