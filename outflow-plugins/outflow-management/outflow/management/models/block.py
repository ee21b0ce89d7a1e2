"""``block``: one execution of a task or workflow within a run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from outflow.core.db import Model


class Block(Model):
    """A task or workflow run: state, times, parameter values and the shape of its targets.

    ``parent_id`` is the workflow it ran in; ``map_index`` the item of a mapped
    workflow it belongs to; ``input_values`` what a failed block was given.
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    plugin: Mapped[str | None] = mapped_column(String(255), nullable=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    start_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    end_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    parameters: Mapped[Any] = mapped_column(JSON, nullable=True)
    input_targets: Mapped[Any] = mapped_column(JSON, nullable=True)
    output_targets: Mapped[Any] = mapped_column(JSON, nullable=True)
    #: A failed block's input values, ``{name: text}``: secrets masked, each text cut
    #: to the setting ``TRACKED_INPUT_LENGTH`` (so that a user can tell which file
    #: failed); None for the others.
    input_values: Mapped[Any] = mapped_column(JSON, nullable=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("block.id"), nullable=True)
    map_index: Mapped[int | None] = mapped_column(Integer, nullable=True)

    run = relationship("Run", back_populates="blocks", viewonly=True)
    parent = relationship("Block", remote_side=[id], viewonly=True)
    exceptions = relationship("RuntimeException", back_populates="block", viewonly=True)

    def __repr__(self) -> str:
        return f"<Block {self.id} {self.kind} {self.name} {self.state}>"
