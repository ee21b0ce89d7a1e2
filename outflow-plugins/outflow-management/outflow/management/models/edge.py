"""``edge``: ``upstream | downstream`` between two blocks of a run."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from outflow.core.db import Model


class Edge(Model):
    """The downstream block consumed outputs of the upstream one."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id"), nullable=False, index=True)
    upstream_id: Mapped[int] = mapped_column(ForeignKey("block.id"), nullable=False)
    downstream_id: Mapped[int] = mapped_column(ForeignKey("block.id"), nullable=False)
