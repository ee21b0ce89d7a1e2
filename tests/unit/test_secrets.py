"""Tests of outflow.core.configuration.secrets: masking configurations and free text."""

from __future__ import annotations

import copy
import string
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from outflow.core.configuration.secrets import (
    MASK,
    MIN_TEXT_SECRET,
    forget_registered_secrets,
    is_secret_key,
    mask_argv,
    mask_secrets,
    mask_text,
    masker_for,
    register_secrets,
    registered_secrets,
)

CONFIG: dict[str, Any] = {
    "name": "demo",
    "secrets": {"aws": {"key": "AKIA-1234", "ids": ["id-one", 42]}, "empty": None},
    "databases": {
        "default": {
            "dialect": "postgresql",
            "user": "alice:s3cr3t-pw",
            "admin": "root:Adm1nPw",
            "url": "postgresql://bob:url-pw@db.example.org:5432/runs",
        },
        "local": {"dialect": "sqlite", "user": "nobody", "path": "runs.db"},
    },
    "plugins": {"slurm": {"API_Key": "k-987", "Password": "p@ss", "options": {"token": "tk-1"}}},
    "service": {"url": "https://example.org/api", "pwd": ""},
}


def test_mask_secrets() -> None:
    masked = mask_secrets(CONFIG)
    assert masked == {
        "name": "demo",
        "secrets": {"aws": {"key": MASK, "ids": [MASK, MASK]}, "empty": None},
        "databases": {
            "default": {
                "dialect": "postgresql",
                "user": f"alice:{MASK}",
                "admin": f"root:{MASK}",
                "url": f"postgresql://bob:{MASK}@db.example.org:5432/runs",
            },
            "local": {"dialect": "sqlite", "user": "nobody", "path": "runs.db"},
        },
        "plugins": {"slurm": {"API_Key": MASK, "Password": MASK, "options": {"token": MASK}}},
        "service": {"url": "https://example.org/api", "pwd": ""},
    }


def test_mask_secrets_does_not_mutate_and_copies() -> None:
    original = copy.deepcopy(CONFIG)
    masked = mask_secrets(CONFIG)
    assert original == CONFIG
    masked["databases"]["local"]["path"] = "changed"
    masked["name"] = "changed"
    assert original == CONFIG


def test_user_outside_databases_is_not_touched() -> None:
    config = {"ssh": {"user": "me:not-a-password"}}
    assert mask_secrets(config) == config


def test_url_password_with_at_sign_and_driver() -> None:
    masked = mask_secrets({"db": {"url": "postgresql+psycopg://u:p@ss@h/db?x=1"}})
    assert masked["db"]["url"] == f"postgresql+psycopg://u:{MASK}@h/db?x=1"
    assert mask_secrets({"url": "sqlite:///runs.db"}) == {"url": "sqlite:///runs.db"}


def test_databases_as_a_list() -> None:
    masked = mask_secrets({"databases": [{"user": "a:bcdef"}, "plain"]})
    assert masked == {"databases": [{"user": f"a:{MASK}"}, "plain"]}


def test_mask_text() -> None:
    text = (
        "outflow run --db postgresql://bob:url-pw@host/runs --password s3cr3t-pw "
        "failed: AKIA-1234 id-one 42 k-987 Adm1nPw p@ss tk-1"
    )
    masked = mask_text(text, CONFIG)
    for secret in ("url-pw", "s3cr3t-pw", "AKIA-1234", "id-one", "k-987", "Adm1nPw", "p@ss"):
        assert secret not in masked
    # Shorter than three characters: too likely to hit ordinary text.
    assert " 42 " in masked
    assert "tk-1" not in masked
    assert masked.startswith(f"outflow run --db postgresql://bob:{MASK}@host/runs --password ")


def test_mask_text_longest_secret_first() -> None:
    config = {"secrets": {"a": "abc", "b": "abcdef"}}
    assert mask_text("x abcdef y abc", config) == f"x {MASK} y {MASK}"


def test_mask_text_decoded_url_password() -> None:
    config = {"url": "mysql://u:p%40ssword@h/db"}
    assert mask_text("p%40ssword p@ssword", config) == f"{MASK} {MASK}"


def test_mask_text_without_secrets() -> None:
    assert mask_text("nothing here", {"a": 1}) == "nothing here"
    assert mask_text("", CONFIG) == ""


_passwords = st.text(string.ascii_letters + string.digits, min_size=3, max_size=20)


def _config(password: str) -> dict[str, Any]:
    return {
        "databases": {
            "main": {"user": f"u:{password}", "admin": f"adm:{password}", "dialect": "x"},
        },
        "secrets": {"deep": {"list": [password, {"k": password}]}, "top": password},
        "other": {"keep": "value"},
    }


@given(_passwords)
def test_masked_config_never_shows_the_password(password: str) -> None:
    # The structure alone (keys, names) may contain the password by chance: skip those.
    assume(password not in str(mask_secrets(_config("#"))))
    config = _config(password)
    before = copy.deepcopy(config)
    masked = mask_secrets(config)
    assert password not in str(masked)
    assert config == before
    assert password not in mask_text(f"argv --x {password} end", config)


# ------------------------------------------------------------------ key rules


@pytest.fixture(autouse=True)
def _forget_registered() -> Iterator[None]:
    """Registered secrets are process-wide: each test starts and ends without any."""
    forget_registered_secrets()
    yield
    forget_registered_secrets()


SECRET_KEYS = [
    "password", "Password", "PASSWORD", "db_password", "db-password", "dbPassword",
    "passwd", "ldap_passwd", "pwd", "root_pwd", "secret", "secrets", "client_secret",
    "clientSecret", "token", "api_token", "access_token", "access-token", "refreshToken",
    "max_tokens", "credential", "credentials", "gcp_credentials_json", "auth", "oauth",
    "basic_auth", "authorization", "AUTH_HEADER", "private", "private_key", "privateKey",
    "key", "Key", "KEY", "api_key", "apiKey", "APIKey", "API_KEY", "api-key", "apikey",
    "apikeys", "api_keys", "access_key", "aws_access_key_id", "ssh_keys", "signingKey",
    "encryption_key", "master_key", "key_2", "author_token",
]
ORDINARY_KEYS = [
    "keys", "Keys", "monkey", "donkey", "hotkey", "keyword", "keyboard", "primary_keys",
    "sort_keys", "author", "authors", "authored_by", "tokenizer", "tokenizer_name",
    "name", "user", "path", "url", "host", "passage", "words", "rate",
    "turkey", "whiskey", "keynote", "pw", "tmp_wd",
]


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_secret_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ORDINARY_KEYS)
def test_ordinary_keys(key: str) -> None:
    assert not is_secret_key(key)
    assert mask_secrets({key: "visible-value"}) == {key: "visible-value"}


def test_non_string_keys_are_not_secret() -> None:
    assert not is_secret_key(3)
    assert mask_secrets({3: "abc", None: "def"}) == {3: "abc", None: "def"}


def test_unset_and_boolean_secrets_stay_visible() -> None:
    config = {"api_token": None, "db_password": "", "use_auth": True, "secrets": {"a": False}}
    assert mask_secrets(config) == config
    assert mask_text("None True False", config) == "None True False"


def test_numbers_are_masked_and_long_ones_in_text() -> None:
    config = {"pin_password": 123456, "pwd": 42}
    assert mask_secrets(config) == {"pin_password": MASK, "pwd": MASK}
    assert mask_text("pin 123456 and 42", config) == f"pin {MASK} and 42"


_ordinary_name = st.sampled_from(["app", "level", "nested", "options", "items", "cfg"])
_secret_key = st.sampled_from(SECRET_KEYS)
_secret_value = st.text(string.ascii_letters + string.digits + "-_.!", min_size=3, max_size=24)


@st.composite
def _placed(draw: st.DrawFn, leaf: Any) -> tuple[Any, list[Any]]:
    """``leaf`` under random ordinary keys and lists; returns (structure, path to it)."""
    structure, path = leaf, []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            index = draw(st.integers(0, 2))
            structure = ["filler"] * index + [structure]
            path.insert(0, index)
        else:
            name = draw(_ordinary_name)
            structure = {name: structure, "sibling": "visible"}
            path.insert(0, name)
    return {"root": structure}, ["root", *path]


def _get(structure: Any, path: list[Any]) -> Any:
    for step in path:
        structure = structure[step]
    return structure


@given(st.data(), _secret_key, _secret_value)
def test_secret_keys_are_masked_at_any_depth(data: st.DataObject, key: str, value: str) -> None:
    config, path = data.draw(_placed({key: "#", "other": "visible"}))
    # The structure (names, fillers) and the log line may hold the value by chance.
    assume(value not in f"{config} {MASK} logged: !")
    _get(config, path)[key] = value
    masked = mask_secrets(config)
    assert _get(masked, path) == {key: MASK, "other": "visible"}
    assert value not in str(masked)
    assert mask_text(f"logged: {value}!", config) == f"logged: {MASK}!"


_scheme = st.from_regex(r"[a-z][a-z0-9+.\-]{0,9}", fullmatch=True)
_user = st.text(string.ascii_letters + string.digits + "._-", max_size=10)
_password = st.text(string.ascii_letters + string.digits + "!$&'()*+,;=:@-._~%", min_size=1,
                    max_size=16)
_host = st.from_regex(r"[a-z0-9]([a-z0-9.\-]{0,20})(:[0-9]{1,5})?", fullmatch=True)


@given(st.data(), _scheme, _user, _password, _host)
def test_url_passwords_are_masked_in_any_string(data: st.DataObject, scheme: str, user: str,
                                                password: str, host: str) -> None:
    url = f"{scheme}://{user}:{password}@{host}/path?q=1"
    expected_url = f"{scheme}://{user}:{MASK}@{host}/path?q=1"
    text = f"connect to {url} now"
    config, path = data.draw(_placed(text))
    masked = mask_secrets(config)
    assert _get(masked, path) == f"connect to {expected_url} now"
    # In free text, whether or not the configuration knows the URL.
    assert mask_text(f"failed: {url}", {}) == f"failed: {expected_url}"
    known = mask_text(f"failed: {url}", config)
    if len(password) >= MIN_TEXT_SECRET and password in f"failed: {expected_url}":
        # Known from the configuration, the password is masked elsewhere in the text too.
        assert password not in known.replace(MASK, "|") and known.startswith("failed: ")
    else:
        assert known == f"failed: {expected_url}"


def test_url_passwords_in_lists_and_keys() -> None:
    config = {"mirrors": ["https://me:pw-one@a.org", "plain"],
              "https://me:pw-two@b.org": {"weight": 1}}
    assert mask_secrets(config) == {
        "mirrors": [f"https://me:{MASK}@a.org", "plain"],
        f"https://me:{MASK}@b.org": {"weight": 1},
    }
    assert mask_text("pw-one and pw-two", config) == f"{MASK} and {MASK}"


def test_several_urls_in_one_text() -> None:
    text = "a http://u:p1@h1/x, b redis://:p2@h2:6379/0 c http://h3:80/a@b d ftp://u@h4"
    assert mask_text(text) == (
        f"a http://u:{MASK}@h1/x, b redis://:{MASK}@h2:6379/0 c http://h3:80/a@b d ftp://u@h4"
    )


def test_url_scan_is_linear_on_long_words() -> None:
    # Without the look-behind, 200 000 letters without "://" would take minutes.
    text = "a" * 200_000 + "://" + "b" * 200_000
    assert mask_text(text) == text


@pytest.mark.parametrize("section", ["secrets", "Secrets", "SECRETS", "my-secrets"])
def test_every_value_under_a_secrets_section(section: str) -> None:
    config = {section: {"anything": "v-one", "nested": {"list": ["v-two", 1234]}}}
    assert mask_secrets(config) == {section: {"anything": MASK,
                                              "nested": {"list": [MASK, MASK]}}}
    assert mask_text("v-one v-two 1234", config) == f"{MASK} {MASK} {MASK}"


def test_secret_inside_mask_is_not_masked_again() -> None:
    config = {"token": "***", "password": "abc"}
    assert mask_text("x *** abc", config) == f"x *** {MASK}"


# ------------------------------------------------------------------ argv


def test_mask_argv() -> None:
    config = {"api_token": "tok-123"}
    argv = ["run", "--api-token", "cli-secret", "--db-password=other", "--n", "5",
            "--token", "--verbose", "--label", "tok-123", "--url", "pg://u:pw@h/db", "--key="]
    assert mask_argv(argv, config) == [
        "run", "--api-token", MASK, f"--db-password={MASK}", "--n", "5",
        "--token", "--verbose", "--label", MASK, "--url", f"pg://u:{MASK}@h/db", "--key=",
    ]


# ------------------------------------------------------------------ registry


def test_registered_secrets_are_masked_in_text() -> None:
    assert mask_text("runtime-secret here") == "runtime-secret here"
    register_secrets("runtime-secret", ["other-one"], {"vault": {"token": "from-map"}})
    assert registered_secrets() == {"runtime-secret", "other-one", "from-map"}
    assert mask_text("runtime-secret other-one from-map", {}) == f"{MASK} {MASK} {MASK}"
    forget_registered_secrets()
    assert mask_text("runtime-secret") == "runtime-secret"


def test_masker_for_follows_the_configuration() -> None:
    config: dict[str, Any] = {"app": {"token": "first-token"}}
    assert masker_for(config)("first-token") == MASK
    assert masker_for(config) is masker_for(config)  # walked once while unchanged
    config["app"] = {"token": "second-token"}  # a top-level value replaced
    assert masker_for(config)("first-token second-token") == f"first-token {MASK}"
    config["more"] = {"password": "third-pw"}  # a top-level key added
    assert masker_for(config)("third-pw") == MASK
    register_secrets("fourth-secret")
    assert masker_for(config)("fourth-secret") == MASK
    assert masker_for({"password": "fifth-pw"})("third-pw fifth-pw") == f"third-pw {MASK}"
    assert masker_for(None)("fourth-secret http://u:p@h") == f"{MASK} http://u:{MASK}@h"
