"""Request bodies and query parameters of the events API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from eventonight.hooks.http import MAX_OFFSET

#: The largest price a search may name, in major units (a bound, not a business rule).
MAX_PRICE = 1_000_000


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class LocationBody(Body):
    name: str | None = Field(default=None, max_length=200)
    country: str | None = Field(default=None, max_length=100)
    city: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=300)
    postcode: str | None = Field(default=None, max_length=20)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @field_validator("lon")
    @classmethod
    def both_or_neither(cls, lon, info):
        if (lon is None) != (info.data.get("lat") is None):
            raise ValueError("give both lat and lon, or neither")
        return lon


class EventFields(Body):
    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    date: AwareDatetime | None = Field(default=None, description="a UTC instant, e.g. 2027-01-31T22:00:00Z")
    location: LocationBody | None = None
    tags: list[str] | None = Field(default=None, max_length=15)
    collaborators: list[str] | None = Field(default=None, max_length=20, description="organization user ids")

    @field_validator("date")
    @classmethod
    def to_utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None


class CreateEventBody(EventFields):
    status: Literal["DRAFT", "PUBLISHED"] = "DRAFT"


class UpdateEventBody(EventFields):
    pass


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    q: str = Field(default="", max_length=200)
    tags: str = Field(default="", description="comma-separated tags")
    tags_mode: Literal["any", "all"] = Field(default="any", alias="tagsMode")
    date_from: AwareDatetime | None = Field(default=None, alias="from")
    date_to: AwareDatetime | None = Field(default=None, alias="to")
    organization: str | None = None
    city: str | None = Field(default=None, max_length=100, description="the city, whole (case and accents ignored)")
    venue: str | None = Field(default=None, max_length=200, description="the venue's name, whole")
    near: str | None = Field(default=None, pattern=r"^-?\d+(\.\d+)?,-?\d+(\.\d+)?$", description="lat,lon")
    radius_km: float = Field(default=10, gt=0, le=1000, alias="radiusKm")
    min_price: float | None = Field(default=None, ge=0, le=MAX_PRICE, alias="minPrice")
    max_price: float | None = Field(default=None, ge=0, le=MAX_PRICE, alias="maxPrice")
    status: str | None = Field(
        default=None,
        max_length=60,
        description="comma-separated DRAFT, PUBLISHED, COMPLETED, CANCELLED; default: upcoming published events",
    )
    sort: Literal["date", "title", "price", "popularity"] = "date"
    order: Literal["asc", "desc"] = "asc"
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)

    def near_point(self) -> tuple[float, float, float] | None:
        if self.near is None:
            return None
        lat, lon = (float(x) for x in self.near.split(","))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError("near must be lat,lon within range")
        return lat, lon, self.radius_km
