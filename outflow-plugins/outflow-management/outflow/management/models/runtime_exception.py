"""``runtime_exception``: what a failed block (or a run failing before any block) raised."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from outflow.core.db import Model


class RuntimeException(Model):
    """Exception type, message and traceback, secrets masked; ``block_id`` may be empty."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id"), nullable=False, index=True)
    block_id: Mapped[int | None] = mapped_column(
        ForeignKey("block.id"), nullable=True, index=True
    )
    type: Mapped[str] = mapped_column(String(255), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    traceback: Mapped[str] = mapped_column(Text, nullable=False)

    block = relationship("Block", back_populates="exceptions", viewonly=True)
