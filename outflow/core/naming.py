"""Names users type: ``ComputeData`` becomes ``compute_data``."""

import re

# Text, not a compiled pattern: ``re`` compiles it on first use; many starts never
# name a command from its class.
_BOUNDARY = r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])"


def snake_case(name: str) -> str:
    """``GenData`` -> ``gen_data``; ``HTTPServer`` -> ``http_server``; ``already_snake`` stays."""
    return re.sub(_BOUNDARY, "_", name).replace("-", "_").lower()
