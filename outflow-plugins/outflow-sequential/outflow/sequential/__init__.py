"""outflow-sequential: the ``default`` backend (alias ``sequential``)."""
