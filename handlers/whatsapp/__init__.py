"""WhatsApp Cloud API channel (pywa): inbound mapping, sender, webhook."""
