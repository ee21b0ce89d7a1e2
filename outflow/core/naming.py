"""Names users type: ``ComputeData`` becomes ``compute_data``."""

import re

_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """``GenData`` -> ``gen_data``; ``HTTPServer`` -> ``http_server``; ``already_snake`` stays."""
    return _BOUNDARY.sub("_", name).replace("-", "_").lower()
