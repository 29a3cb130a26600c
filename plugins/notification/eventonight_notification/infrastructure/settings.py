"""The notification plugin's settings (``EVENTONIGHT_NOTIFICATION_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTONIGHT_NOTIFICATION_", extra="ignore")

    # Pages of notifications each web process keeps (a page of 20: ~21 KB), served again while
    # the user's unread counter has the version they were read at; 0 keeps none.
    pages_kept: int = Field(default=1000, ge=0)
