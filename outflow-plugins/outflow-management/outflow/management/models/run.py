"""``run``: one execution of a command."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from outflow.core.db import Model


class Run(Model):
    """Who ran which command, where, when, and how it ended (``state``)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    command: Mapped[str] = mapped_column(String(255), nullable=False)
    argv: Mapped[Any] = mapped_column(JSON, nullable=False)
    user: Mapped[str] = mapped_column(String(255), nullable=False)
    hostname: Mapped[str] = mapped_column(String(255), nullable=False)
    backend: Mapped[str] = mapped_column(String(64), nullable=False)
    start_time: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    end_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    #: The driver's pid and process identity (see outflow.management.liveness): a
    #: ``running`` run whose process is gone is shown ``crashed``.
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    process: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Outputs read from the workflow cache instead of computed (cached workflows and
    #: map items), written when the run ends.
    cache_hits: Mapped[int | None] = mapped_column(Integer, nullable=True)
    configuration_id: Mapped[int | None] = mapped_column(
        ForeignKey("configuration.id"), nullable=True
    )

    configuration = relationship("Configuration", lazy="joined")
    blocks = relationship("Block", back_populates="run", lazy="select",
                          order_by="Block.id", viewonly=True)

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.command} {self.state}>"
