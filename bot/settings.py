"""Configuration from the environment and .env (see .env.example)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org"
    telegram_bot_username: str = ""
    database_url: str = "sqlite+aiosqlite:///./data/kinerja.db"
    default_tz: str = "Asia/Jakarta"
    log_level: str = "INFO"
    #: Webhook mode: the public HTTPS URL Telegram posts updates to (empty = long polling).
    telegram_webhook_url: str = ""
    #: Shared secret Telegram sends in X-Telegram-Bot-Api-Secret-Token ([A-Za-z0-9_-]).
    telegram_webhook_secret: SecretStr | None = None
    #: Where the bot's own webhook server listens (behind the reverse proxy).
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8081
    #: Webhook bodies larger than this are refused before they are read (bytes).
    webhook_max_body_bytes: int = 1_000_000
    #: Network errors and server errors are retried this long before an operator is told.
    delivery_patience_hours: float = 72.0
    #: How many processes deliver (``jalan --peran pekerja`` or ``semua``) on one database:
    #: each sends at most its share of the bot-wide limit (Telegram: 30/s divided by this).
    delivery_workers: int = 1
    #: Chats one delivery process sends to at the same time (each chat still strictly in order).
    delivery_concurrency: int = 8
    #: A delivery process's claim on a chat lasts this long; a dead process's chats are taken
    #: over by another after it (a crash may repeat the sends it had not yet marked).
    delivery_lease_seconds: float = 60.0
    #: TEST / DEMO ONLY: false sends as fast as the channel answers (no Telegram/WhatsApp
    #: send limits), for a local emulator that has none.
    delivery_limits: bool = True
    #: Handled inbox rows, seen update keys, sent outbox rows and spent button tokens older
    #: than this many days are pruned (the event log and stored files never are).
    retention_days: int = 30
    #: Safety sweep of reminders every this many seconds (besides the one at the next due time).
    sweep_interval_seconds: int = 300
    #: WhatsApp Cloud API (all empty = no WhatsApp). See README "WhatsApp".
    whatsapp_phone_id: str = ""
    whatsapp_token: SecretStr | None = None
    #: The app secret signs every webhook POST; WhatsApp refuses to start without it.
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    #: The bot's WhatsApp number as people see it (for wa.me invite links).
    whatsapp_number: str = ""
    #: Where the WhatsApp webhook listens (behind the reverse proxy) and its path.
    whatsapp_listen: str = "127.0.0.1"
    whatsapp_port: int = 8082
    whatsapp_path: str = "/whatsapp"
    #: TEST / DEMO ONLY: another Graph API origin (the emulator) instead of graph.facebook.com.
    whatsapp_graph_url: str = ""
    #: Templates for messages outside the 24-hour window (names as approved by Meta).
    whatsapp_template_language: str = "id"
    whatsapp_template_pemberitahuan: str = "kinerja_pemberitahuan"
    whatsapp_template_pengingat: str = "kinerja_pengingat"
    whatsapp_template_persetujuan: str = "kinerja_persetujuan"

    @property
    def bot_api_url(self) -> str:
        return f"{self.telegram_base_url.rstrip('/')}/bot"

    @property
    def bot_file_url(self) -> str:
        return f"{self.telegram_base_url.rstrip('/')}/file/bot"
