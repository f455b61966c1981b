"""Keep secrets (the bot token, the webhook secret) out of every log line and traceback."""

from __future__ import annotations

import logging

MASK = "***"


class RedactSecret(logging.Filter):
    """Replace each secret in a record's message and traceback (library exceptions included)."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info:
            record.exc_text = self.scrub(
                record.exc_text or logging.Formatter().formatException(record.exc_info)
            )
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


def install(*secrets: str) -> RedactSecret:
    """Attach the filter to every handler of the root logger (replacing an earlier one)."""
    redact = RedactSecret(*secrets)
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactSecret)]:
            handler.removeFilter(old)  # one per handler: the secrets of this run
        handler.addFilter(redact)
    return redact
