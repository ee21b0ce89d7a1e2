"""Hide the secrets of a configuration before it is shown, logged or stored.

Why: outflow prints the configuration (``management display_config``), logs command
lines and error messages, and stores both with every run in a database that colleagues
can read. Database passwords and API tokens must reach none of those places, so
everything that leaves the process goes through :func:`mask_secrets` (structured data)
or :func:`mask_text` (free text such as argv, an exception message, a log record).

What counts as a secret (the user guide's ``docs/secrets.md`` says the same):

* every value under a key that :func:`is_secret_key` accepts, at any depth, keeping
  the keys and the shape below it: a key whose name contains ``password``, ``passwd``,
  ``pwd``, ``secret``, ``token``, ``credential``, ``auth`` or ``private`` (any case,
  ``-`` read as ``_``), or a key *word* ``key`` (see :func:`is_secret_key`). This
  includes every value under a ``secrets`` section;
* the password of a URL written ``scheme://user:password@host``, in any string of the
  configuration (a value, an item of a list, a key) and in any free text;
* in a ``databases`` section, the password part of ``user`` and ``admin`` strings
  written ``name:password``.

``None``, empty strings and booleans are left as they are: they hide nothing, and
seeing that a secret is unset helps debugging.

In free text, :func:`mask_text` replaces every secret value found in the configuration
(plus those given to :func:`register_secrets`, and the percent-decoded form of URL
passwords), longest first; values shorter than :data:`MIN_TEXT_SECRET` characters are
left alone, because masking them would hide ordinary words and numbers.

The module is on every run's path: it imports nothing beyond what :mod:`logging`
already imports, and compiles its regular expressions on first use.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

__all__ = [
    "MASK",
    "MIN_TEXT_SECRET",
    "forget_registered_secrets",
    "is_secret_key",
    "mask_argv",
    "mask_secrets",
    "mask_text",
    "masker_for",
    "register_secrets",
    "registered_secrets",
    "secret_values",
    "text_masker",
]

MASK = "******"
"""What replaces a secret."""

MIN_TEXT_SECRET = 3
"""Shorter secret values are not masked in free text: they would mask ordinary text."""

#: Fragments that make a key secret wherever they appear in its name.
_FRAGMENTS = ("password", "passwd", "pwd", "secret", "token", "credential", "auth", "private")
#: Ordinary words that merely contain a fragment: they do not make a key secret
#: (``author``, ``tokenizer``); any other word of the same key still may.
_ORDINARY_WORDS = frozenset({
    "author", "authors", "authored", "authorship",
    "tokenize", "tokenized", "tokenizer", "tokenizers", "tokenization",
})
#: Words that, glued to or followed by ``key``/``keys``, name a key (``apiKey``, ``ssh_keys``).
_KEY_PREFIXES = frozenset({"api", "access", "signing", "master", "encryption", "ssh", "priv"})
_CREDENTIAL_KEYS = frozenset({"user", "admin"})


# ------------------------------------------------------------------------ structure


def mask_secrets(config: Mapping[Any, Any]) -> dict[Any, Any]:
    """Return a copy of ``config`` with every secret replaced by :data:`MASK`.

    The input is never modified: the caller usually still needs the real passwords.
    Mappings and lists are rebuilt (tuples become lists), immutable leaves are shared,
    other objects are deep-copied.
    """
    return _mask_mapping(config, [], in_databases=False)


def secret_values(config: Mapping[Any, Any]) -> frozenset[str]:
    """Every secret value of ``config``, as text, whatever its length.

    URL passwords are given twice when they are percent-encoded: a log line may hold
    the decoded form.
    """
    found: list[str] = []
    _mask_mapping(config, found, in_databases=False)
    return frozenset(found)


def is_secret_key(key: object) -> bool:
    """Whether the values under the mapping key ``key`` are secrets.

    The rule, case-insensitive:

    * the name contains ``password``, ``passwd``, ``pwd``, ``secret``, ``token``,
      ``credential``, ``auth`` or ``private`` (``db_password``, ``clientSecret``,
      ``access-token``, ``oauth``, ``private_key``), except inside the ordinary words
      ``author(s)``, ``authored``, ``authorship`` and ``tokenize(d/r/rs)``,
      ``tokenization``;
    * or one of its words is ``key``, or ``key``/``keys`` glued to or following ``api``,
      ``access``, ``signing``, ``master``, ``encryption``, ``ssh`` or ``priv``
      (``key``, ``api_key``, ``apiKey``, ``APIKEY``, ``ssh_keys``, ``aws_access_key_id``).
      ``keys``, ``monkey``, ``hotkey``, ``keyword`` or ``primary_keys`` are not secret.

    A name's words are its runs of letters and digits, with camel-case humps split
    (``clientAPIKey`` is ``client``, ``api``, ``key``). Non-string keys are never secret.
    """
    return isinstance(key, str) and _is_secret_name(key)


@lru_cache(maxsize=4096)
def _is_secret_name(name: str) -> bool:
    # Cached: the same few key names are classified for every configuration walk, and
    # the logging filter walks the active configuration for each record it masks.
    spans = [(m.start(), m.end(), m.group().lower()) for m in _word_pattern().finditer(name)]
    words = [word for _, _, word in spans]
    text = name
    if any(word in _ORDINARY_WORDS for word in words):
        parts, last = [], 0
        for start, end, word in spans:
            if word in _ORDINARY_WORDS:
                parts += [name[last:start], "_"]
                last = end
        parts.append(name[last:])
        text = "".join(parts)
    text = text.lower().replace("-", "_")
    if any(fragment in text for fragment in _FRAGMENTS):
        return True
    for index, word in enumerate(words):
        if word == "key":
            return True
        if word == "keys" and index > 0 and words[index - 1] in _KEY_PREFIXES:
            return True
        stem = word[:-1] if word.endswith("keys") else word
        if stem.endswith("key") and stem[:-3] in _KEY_PREFIXES:
            return True
    return False


@lru_cache(maxsize=1)
def _word_pattern() -> re.Pattern[str]:
    # ``APIKey`` -> API, Key; ``apiKey`` -> api, Key; ``key2`` -> key, 2.
    return re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


@lru_cache(maxsize=1)
def _url_pattern() -> re.Pattern[str]:
    # The look-behind starts a scheme only where a run of scheme characters starts:
    # without it, a long run of letters would be scanned once per position.
    return re.compile(
        r"(?<![A-Za-z0-9+.\-])(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:@/?#]*):"
        r"(?P<password>[^\s/?#]*)@"
    )


def _mask_mapping(
    mapping: Mapping[Any, Any], found: list[str], *, in_databases: bool
) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key, value in mapping.items():
        shown = _mask_urls(key, found) if isinstance(key, str) else key
        if is_secret_key(key):
            result[shown] = _mask_all(value, found)
            continue
        name = key.lower().replace("-", "_") if isinstance(key, str) else ""
        if in_databases and name in _CREDENTIAL_KEYS and isinstance(value, str):
            result[shown] = _mask_credentials(value, found)
        elif name == "databases":
            result[shown] = _mask_databases(value, found)
        else:
            result[shown] = _mask_value(value, found)
    return result


def _mask_value(value: Any, found: list[str]) -> Any:
    if isinstance(value, str):
        return _mask_urls(value, found)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return _mask_mapping(value, found, in_databases=False)
    if isinstance(value, (list, tuple)):
        return [_mask_value(item, found) for item in value]
    return copy.deepcopy(value)


def _mask_databases(value: Any, found: list[str]) -> Any:
    """``databases`` maps a name to an entry (or, tolerated, is a list of entries)."""
    if isinstance(value, Mapping):
        return {
            _mask_urls(name, found) if isinstance(name, str) else name:
                _mask_mapping(entry, found, in_databases=True)
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
    if value is None or value == "" or isinstance(value, bool):
        return value
    if isinstance(value, (str, int, float)):
        found.append(str(value))
    return MASK


def _mask_credentials(value: str, found: list[str]) -> str:
    name, sep, password = value.partition(":")
    if not sep or not password:
        return value
    found.append(password)
    return f"{name}:{MASK}"


def _mask_urls(value: str, found: list[str]) -> str:
    """Mask the password of every ``scheme://user:password@`` in ``value``."""
    if "://" not in value:
        return value

    def hide(match: re.Match[str]) -> str:
        password = match.group("password")
        if not password:
            return match.group(0)
        found.append(password)
        if "%" in password:
            # The URL holds the percent-encoded form; a log line may hold the decoded one.
            from urllib.parse import unquote

            found.append(unquote(password))
        return f"{match.group('head')}:{MASK}@"

    return _url_pattern().sub(hide, value)


# ------------------------------------------------------------------------ free text


def mask_text(text: str, config: Mapping[Any, Any] | None = None) -> str:
    """Replace in ``text`` every secret of ``config`` with :data:`MASK`.

    Also masked: the values given to :func:`register_secrets`, and the password of any
    URL written ``scheme://user:password@host`` in ``text`` (known or not: its place
    in the URL says it is one, whatever its length). Secret values shorter than
    :data:`MIN_TEXT_SECRET` characters are ignored (they would mask ordinary text);
    longer ones are replaced first, so that one containing another is hidden whole.
    """
    if not text:
        return text
    return text_masker(config)(text)


def text_masker(config: Mapping[Any, Any] | None = None) -> Callable[[str], str]:
    """A function masking text as :func:`mask_text` does, with ``config`` read once.

    Why: masking several texts (argv, a message and its traceback) would otherwise
    walk the configuration once per text.
    """
    secrets = secret_values(config) if config else frozenset()
    return _masker(secrets | _registered)


_last_masker: tuple[Any, tuple[Any, ...], frozenset[str], Callable[[str], str]] | None = None


def masker_for(config: Mapping[Any, Any] | None) -> Callable[[str], str]:
    """:func:`text_masker` of ``config``, remembered while ``config`` seems unchanged.

    Why: the logging filter masks every record it lets through; walking the whole
    configuration for each (tens of microseconds) would make logging several times
    slower. The masker is reused while the same configuration object is given, with
    the same top-level values (the same objects) and no new :func:`register_secrets`
    call. A value changed *inside* a top-level section at run time (the configuration
    is meant to be read-only while a pipeline runs) is therefore not seen: register
    such a secret with :func:`register_secrets`.
    """
    global _last_masker
    values = tuple(config.values()) if config else ()
    registered = _registered
    last = _last_masker
    if (
        last is not None
        and last[0] is config
        and last[2] is registered
        and len(last[1]) == len(values)
        and all(old is new for old, new in zip(last[1], values))
    ):
        return last[3]
    masker = _masker((secret_values(config) if config else frozenset()) | registered)
    _last_masker = (config, values, registered, masker)
    return masker


@lru_cache(maxsize=32)
def _masker(secrets: frozenset[str]) -> Callable[[str], str]:
    # Cached by the set of secrets: the logging filter asks for the same one for each
    # record, and compiling the alternation is what costs.
    usable = sorted(
        # A value found in MASK itself would be masked again on every pass.
        {secret for secret in secrets if len(secret) >= MIN_TEXT_SECRET and secret not in MASK},
        key=lambda secret: (-len(secret), secret),
    )
    pattern = re.compile("|".join(re.escape(secret) for secret in usable)) if usable else None

    def mask(text: str) -> str:
        if not text:
            return text
        if pattern is not None:
            text = pattern.sub(MASK, text)
        if "://" in text:
            text = _mask_urls(text, [])
        return text

    return mask


# ------------------------------------------------------------------------ registry

_registered: frozenset[str] = frozenset()
_registry_lock = threading.Lock()


def register_secrets(*sources: Mapping[Any, Any] | str | Iterable[str]) -> None:
    """Make more values secret for :func:`mask_text` and the logging filter, process-wide.

    Why: a secret that is not in the configuration (read from a vault, computed at run
    time) is unknown to outflow; a task registers it before it can reach a log line.
    A mapping is searched with the configuration's rules; a string is itself a secret;
    any other iterable is a collection of secret strings.
    """
    found: list[str] = []
    for source in sources:
        if isinstance(source, Mapping):
            found.extend(secret_values(source))
        elif isinstance(source, str):
            found.append(source)
        else:
            found.extend(str(item) for item in source)
    global _registered
    with _registry_lock:
        _registered = _registered | {secret for secret in found if secret}


def registered_secrets() -> frozenset[str]:
    """The values given to :func:`register_secrets` so far."""
    return _registered


def forget_registered_secrets() -> None:
    """Forget every registered secret (for tests, and long-lived processes between runs)."""
    global _registered
    with _registry_lock:
        _registered = frozenset()


# ------------------------------------------------------------------------ command lines


def mask_argv(argv: Iterable[object], config: Mapping[Any, Any] | None = None) -> list[str]:
    """Mask a command line: each argument as :func:`mask_text` does, and option values.

    Why: a secret given on the command line (``--api-token XYZ``) is in no
    configuration, yet argv is stored with each run. The value of an option whose name
    is a secret key (:func:`is_secret_key`, read without its dashes) is masked, written
    ``--name=value`` or ``--name value`` (the next argument, unless it is an option).
    """
    mask = text_masker(config)
    masked: list[str] = []
    hide_next = False
    for arg in map(str, argv):
        if hide_next and arg and not arg.startswith("-"):
            masked.append(MASK)
            hide_next = False
            continue
        hide_next = False
        if arg.startswith("-") and len(arg) > 1:
            name, equals, value = arg.lstrip("-").partition("=")
            if is_secret_key(name):
                if equals:
                    masked.append(f"{arg[: len(arg) - len(value)]}{MASK}" if value else arg)
                    continue
                hide_next = True
        masked.append(mask(arg))
    return masked
