"""``configuration``: each distinct configuration used by a run, stored once, secrets masked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from outflow.core.db import Model


class Configuration(Model):
    """A configuration as a run saw it, with every secret masked.

    Runs sharing a configuration share its row: ``hash`` is the SHA-256 of the masked
    configuration serialised with sorted keys.
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    config: Mapped[Any] = mapped_column(JSON, nullable=False)
    created: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    def __repr__(self) -> str:
        return f"<Configuration {self.id} {self.hash[:12]}>"
