"""Hide the secrets of a configuration before it is shown, logged or stored.

Why: outflow prints the configuration (``outflow config show``), logs command lines and
error messages, and stores both with every run in a database that colleagues can read.
Database passwords and API tokens must reach none of those places, so everything that
leaves the process goes through :func:`mask_secrets` (structured data) or
:func:`mask_text` (free text such as argv or an exception message).

What counts as a secret:

* every value under a ``secrets`` section (the keys stay visible, they document what is
  expected);
* the value of any key named ``password``, ``passwd``, ``pwd``, ``secret``, ``token`` or
  ``api_key`` (case-insensitive, ``-`` read as ``_``), at any depth;
* in a ``databases`` section, the password part of ``user`` and ``admin`` strings
  written ``name:password``;
* the password of a URL written ``dialect://user:password@host/db`` under a ``url`` key.

``None`` and empty strings are left as they are: they hide nothing, and seeing that a
secret is unset helps debugging.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

MASK = "******"
"""What replaces a secret."""

_SECRET_KEYS = frozenset({"password", "passwd", "pwd", "secret", "secrets", "token", "api_key"})
_CREDENTIAL_KEYS = frozenset({"user", "admin"})
_URL_PASSWORD = re.compile(
    r"^(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:@/?#]*):(?P<password>[^/?#]*)@"
)
_MIN_TEXT_SECRET = 3  # shorter strings would mask ordinary words in free text


def mask_secrets(config: Mapping[Any, Any]) -> dict[Any, Any]:
    """Return a deep copy of ``config`` with every secret replaced by :data:`MASK`.

    The input is never modified: the caller usually still needs the real passwords.
    """
    return _mask_mapping(config, [], in_databases=False)


def mask_text(text: str, config: Mapping[Any, Any]) -> str:
    """Replace in ``text`` every secret of ``config`` with :data:`MASK`.

    Secrets shorter than three characters are ignored (they would mask ordinary text).
    Longer secrets are replaced first, so that one containing another is hidden whole.
    """
    found: list[str] = []
    _mask_mapping(config, found, in_databases=False)
    secrets = sorted({s for s in found if len(s) >= _MIN_TEXT_SECRET}, key=len, reverse=True)
    if not secrets or not text:
        return text
    pattern = re.compile("|".join(re.escape(secret) for secret in secrets))
    return pattern.sub(MASK, text)


# ------------------------------------------------------------------------ helpers


def _key(key: Any) -> str:
    return key.lower().replace("-", "_") if isinstance(key, str) else ""


def _mask_mapping(
    mapping: Mapping[Any, Any], found: list[str], *, in_databases: bool
) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key, value in mapping.items():
        name = _key(key)
        if name in _SECRET_KEYS:
            result[key] = _mask_all(value, found)
        elif name == "url" and isinstance(value, str):
            result[key] = _mask_url(value, found)
        elif in_databases and name in _CREDENTIAL_KEYS and isinstance(value, str):
            result[key] = _mask_credentials(value, found)
        elif name == "databases":
            result[key] = _mask_databases(value, found)
        else:
            result[key] = _mask_value(value, found)
    return result


def _mask_value(value: Any, found: list[str]) -> Any:
    if isinstance(value, Mapping):
        return _mask_mapping(value, found, in_databases=False)
    if isinstance(value, (list, tuple)):
        return [_mask_value(item, found) for item in value]
    return copy.deepcopy(value)


def _mask_databases(value: Any, found: list[str]) -> Any:
    """``databases`` maps a name to an entry (or, tolerated, is a list of entries)."""
    if isinstance(value, Mapping):
        return {
            name: _mask_mapping(entry, found, in_databases=True)
            if isinstance(entry, Mapping)
            else _mask_value(entry, found)
            for name, entry in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [
            _mask_mapping(entry, found, in_databases=True)
            if isinstance(entry, Mapping)
            else _mask_value(entry, found)
            for entry in value
        ]
    return _mask_value(value, found)


def _mask_all(value: Any, found: list[str]) -> Any:
    """Mask every leaf below ``value``, keeping the keys and the shape."""
    if isinstance(value, Mapping):
        return {key: _mask_all(item, found) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask_all(item, found) for item in value]
    if value is None or value == "":
        return value
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        found.append(str(value))
    return MASK


def _mask_credentials(value: str, found: list[str]) -> str:
    name, sep, password = value.partition(":")
    if not sep or not password:
        return value
    found.append(password)
    return f"{name}:{MASK}"


def _mask_url(value: str, found: list[str]) -> str:
    match = _URL_PASSWORD.match(value)
    if match is None or not match.group("password"):
        return value
    password = match.group("password")
    found.append(password)
    if "%" in password:
        # The URL holds the percent-encoded form; a log line may hold the decoded one.
        from urllib.parse import unquote

        found.append(unquote(password))
    return f"{match.group('head')}:{MASK}@{value[match.end() :]}"
