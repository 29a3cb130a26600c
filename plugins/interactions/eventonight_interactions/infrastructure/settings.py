"""The interactions plugin's settings (``EVENTONIGHT_INTERACTIONS_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class InteractionsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTONIGHT_INTERACTIONS_", extra="ignore")

    # Pages of likes and follows each web process keeps (a page of 20: ~7 KB), served again while
    # the counters of what they list and the copies they show keep their version; 0 keeps none.
    pages_kept: int = Field(default=1000, ge=0)
