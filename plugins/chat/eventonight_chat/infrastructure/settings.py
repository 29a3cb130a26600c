"""The chat plugin's settings (``EVENTONIGHT_CHAT_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ChatSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTONIGHT_CHAT_", extra="ignore")

    # Rendered inbox pages each web process keeps (~10 KB each), served again while the user's
    # inbox summaries are unchanged; 0 keeps none (every page read from the database).
    inbox_pages_kept: int = Field(default=1000, ge=0)
