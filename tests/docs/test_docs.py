"""The user guide's examples, run: a page of ``docs/`` cannot drift from the code.

The convention, for whoever writes a page
=========================================

A page takes part when it holds the comment ``<!-- docs-test ... -->`` (anywhere; put
it under the title). Its fenced code blocks then run, in page order, as one scenario
in a fresh temporary directory: later blocks see the files and the directory changes
of earlier ones. What a fenced block does is said by its info string, whose first
word is the language (what the code-hosting site highlights; it ignores the rest):

``console``
    Run. Lines starting with ``$ `` are commands; the lines after a command, up to
    the next command, are its expected output (stdout and stderr together, as a
    terminal shows them); a command with no line after it must print nothing. The
    expected output is compared with the whole output, line by line, trailing spaces
    and blank lines at the end ignored:

    - ``...`` inside a line matches any text (a time, a path, a run id);
    - a line that is only ``...`` matches any number of lines, none included.

    A command must exit with status 0, unless the next command is ``echo $?``,
    whose expected output is the status. The commands understood are
    ``outflow ARGS`` (run as ``python -m outflow ARGS``), ``python ARGS`` (so
    ``python manage.py ARGS`` in a pipeline), ``pytest ARGS`` (``python -m pytest``),
    ``cd DIR``, ``rm FILE...`` and ``echo $?``; ``python`` is the interpreter running
    these tests (the project's virtualenv). A ``#`` starts a comment; a line ending
    with ``\\`` goes on on the next line. A page shows a command that cannot run here
    (``pip install``) in a ``console skip`` or ``sh skip`` block.
``<language> file=PATH``
    Write the block to ``PATH``, relative to the current directory (after the ``cd``
    commands run so far), creating its directories; an existing file is replaced.
    The file's name must appear in the text just above the block (or in the block's
    first line), so that a reader knows where the code goes.
``<language> skip``
    Shown, never run: what cannot run here (``pip install``, a PostgreSQL server),
    fragments and alternatives.
``text``, ``mermaid`` (or no language)
    Output or a drawing: never run, needs no mark.

Any other block (``python``, ``yaml``, ``sh``...) with neither ``file=`` nor ``skip`` is
an error: a writer decides for each example whether it runs. ``python`` blocks,
skipped ones included, must at least compile.

The commands run with the environment of these tests, minus the ``OUTFLOW_*`` and
``PYTEST_*`` variables and ``PYTHONPATH``, plus ``XDG_CACHE_HOME`` and ``TMPDIR`` in
the scenario's directory, ``PYTHONUNBUFFERED=1`` (so that stdout and stderr keep
their order), ``PYTHONDONTWRITEBYTECODE=1`` (a file rewritten within the same second
is never read from a stale ``.pyc``) and ``COLUMNS=80``. A failure names the page and
the line of the example, shows the command, the expected and the actual output.

Pages written before this convention hold no marker and are listed in
:data:`UNTESTED`; every other page with code blocks must have the marker. The index,
``docs/README.md``, must link every page, and the links between pages (and to the
repository's README) must lead to a file and a heading that exist.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"

#: The comment that makes a page's examples run.
MARKER = re.compile(r"<!--\s*docs-test\b")
#: Pages whose examples are illustrations only (written before the convention).
UNTESTED = frozenset({"backends.md", "secrets.md", "workflow-cache.md", "runs-under-faults.md"})
#: Languages whose blocks need no mark: output and drawings (Mermaid).
INERT = frozenset({"", "text", "mermaid"})
#: Options an info string may carry.
OPTIONS = frozenset({"file", "skip"})
#: Seconds one command may take.
COMMAND_TIMEOUT = 120
#: Environment variables that would change what the commands load or how they behave.
SCRUBBED = frozenset({"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PIPELINE_ROOT_DIRECTORY"})

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


# --------------------------------------------------------------------- reading pages


@dataclass
class Block:
    """One fenced code block of a page."""

    page: str  # "tutorial.md"
    line: int  # line of the opening fence, 1-based
    language: str
    options: dict[str, str | bool]
    text: str
    before: str  # the page's text between the previous block and this one

    def where(self, offset: int | None = None) -> str:
        """``docs/tutorial.md:42``: the opening fence, or the line ``offset`` (0-based)
        of the block's content."""
        return f"docs/{self.page}:{self.line if offset is None else self.line + 1 + offset}"


def read_blocks(page: str, text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, with their info strings parsed."""
    blocks: list[Block] = []
    lines = text.splitlines()
    prose: list[str] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            prose.append(lines[index])
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        words = opening["info"].split()
        start = index
        body: list[str] = []
        index += 1
        while index < len(lines):
            closing = _FENCE.match(lines[index])
            if (closing is not None and closing["fence"][0] == fence[0]
                    and len(closing["fence"]) >= len(fence) and not closing["info"].strip()):
                break
            line = lines[index]
            # The fence's indentation (a block in a list item) is not the code's.
            body.append(line[indent:] if not line[:indent].strip() else line.lstrip())
            index += 1
        else:
            raise AssertionError(f"docs/{page}:{start + 1}: code block never closed")
        index += 1
        options: dict[str, str | bool] = {}
        for word in words[1:]:
            key, has_value, value = word.partition("=")
            if key not in OPTIONS:
                raise AssertionError(f"docs/{page}:{start + 1}: unknown option {word!r} in "
                                     f"the info string (known: {', '.join(sorted(OPTIONS))})")
            options[key] = value if has_value else True
        blocks.append(Block(page, start + 1, words[0] if words else "", options,
                            "\n".join(body) + "\n" if body else "", "\n".join(prose)))
        prose = []
    return blocks


def marked_pages() -> list[str]:
    return sorted(path.name for path in DOCS.glob("*.md") if MARKER.search(path.read_text()))


# --------------------------------------------------------------------- output matching


def expected_pattern(expected: list[str]) -> re.Pattern[str]:
    """A regex matching a whole output against ``expected`` (see the module doc)."""
    parts = []
    for line in expected:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            pieces = line.rstrip().split("...")
            parts.append(".*".join(re.escape(piece) for piece in pieces) + r"[ \t]*\n")
    return re.compile("".join(parts))


def normalised(output: str) -> str:
    """Output as compared: trailing spaces and trailing blank lines dropped, one final
    newline (none for an empty output)."""
    lines = [line.rstrip() for line in output.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "".join(line + "\n" for line in lines)


def matches(expected: list[str], output: str) -> bool:
    return expected_pattern(expected).fullmatch(normalised(output)) is not None


# --------------------------------------------------------------------- running


@dataclass
class Command:
    line: int  # offset of the command's first line in the block's content
    text: str
    expected: list[str] = field(default_factory=list)


def read_console(block: Block) -> list[Command]:
    """The commands of a ``console`` block and the output expected of each."""
    commands: list[Command] = []
    lines = block.text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("$ "):
            start, text = index, line[2:]
            while text.endswith("\\") and index + 1 < len(lines):
                index += 1
                text = text[:-1] + " " + lines[index].strip()
            commands.append(Command(start, text))
        elif commands:
            commands[-1].expected.append(line)
        elif line.strip():
            raise AssertionError(f"{block.where(index)}: output before any `$ ` command")
        index += 1
    if not commands:
        raise AssertionError(f"{block.where()}: a console block without a `$ ` command")
    return commands


class Scenario:
    """The terminal of one page: a directory, an environment, the last exit status."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cwd = root
        (root / ".tmp").mkdir(parents=True)
        env = {key: value for key, value in os.environ.items()
               if key not in SCRUBBED and not key.startswith(("OUTFLOW_", "PYTEST_"))}
        env.update({
            "XDG_CACHE_HOME": str(root / ".cache"),
            "TMPDIR": str(root / ".tmp"),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "COLUMNS": "80",
        })
        self.env = env
        self.status: int | None = None

    def play(self, block: Block) -> None:
        if block.language == "python":
            try:
                compile(block.text, block.where(), "exec")
            except SyntaxError as error:
                line = block.where((error.lineno or 1) - 1)
                raise AssertionError(f"{line}: the Python example does not compile: "
                                     f"{error.msg}") from None
        if "skip" in block.options:
            return
        if "file" in block.options:
            self.write(block)
        elif block.language == "console":
            self.console(block)
        elif block.language not in INERT:
            raise AssertionError(
                f"{block.where()}: a `{block.language}` block must say what it is for: "
                f"`{block.language} file=PATH` (written), `{block.language} skip` (shown "
                f"only), or be a `console` block (run); see tests/docs/test_docs.py")

    def write(self, block: Block) -> None:
        path = block.options["file"]
        if not isinstance(path, str) or not path:
            raise AssertionError(f"{block.where()}: file= needs a path")
        name = Path(path).name
        first_line = block.text.splitlines()[0] if block.text else ""
        if name not in block.before.split("\n\n")[-1] and name not in first_line:
            raise AssertionError(f"{block.where()}: the text just above the block must name "
                                 f"the file it goes to ({name})")
        target = self.cwd / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text)

    def console(self, block: Block) -> None:
        commands = read_console(block)
        for position, command in enumerate(commands):
            following = commands[position + 1] if position + 1 < len(commands) else None
            self.run(block, command, following)

    def run(self, block: Block, command: Command, following: Command | None) -> None:
        where = block.where(command.line)
        try:
            words = shlex.split(command.text, comments=True)
        except ValueError as error:
            raise AssertionError(f"{where}: cannot read `{command.text}`: {error}") from None
        if not words:
            raise AssertionError(f"{where}: an empty command")
        if words == ["echo", "$?"]:
            output = f"{self.status}\n"
            self.status = 0
        elif words[0] == "rm":
            for name in words[1:]:
                target = self.cwd / name
                if not target.is_file():
                    raise AssertionError(f"{where}: `{command.text}`: no file {target}")
                target.unlink()
            self.status, output = 0, ""
        elif words[0] == "cd":
            if len(words) != 2:
                raise AssertionError(f"{where}: `cd` takes one directory")
            target = (self.cwd / words[1]).resolve()
            if not target.is_dir():
                raise AssertionError(f"{where}: `{command.text}`: no directory {target}")
            self.cwd = target
            self.status, output = 0, ""
        else:
            self.status, output = self.execute(where, command.text, words)
        if not matches(command.expected, output):
            expected = "\n".join(command.expected)
            diff = "\n".join(difflib.unified_diff(
                command.expected, normalised(output).splitlines(),
                "expected (the page)", "actual", lineterm=""))
            raise AssertionError(
                f"{where}: the output of `{command.text}` is not the one shown\n"
                f"--- the page shows:\n{expected}\n--- the command printed:\n{output}"
                f"--- diff (`...` lines and wildcards show as differences):\n{diff}")
        if self.status != 0 and not (following is not None
                                     and shlex.split(following.text) == ["echo", "$?"]):
            raise AssertionError(
                f"{where}: `{command.text}` exited with status {self.status} (follow it "
                f"with `$ echo $?` if that is expected)\n--- output:\n{output}")

    def execute(self, where: str, text: str, words: list[str]) -> tuple[int, str]:
        program, *args = words
        if program == "outflow":
            argv = [sys.executable, "-m", "outflow", *args]
        elif program == "python":
            argv = [sys.executable, *args]
        elif program == "pytest":
            argv = [sys.executable, "-m", "pytest", *args]
        else:
            raise AssertionError(
                f"{where}: `{program}` cannot run here: a console block runs outflow, python, "
                f"pytest, cd, rm and echo $? (mark the block `console skip` to only show it)")
        try:
            done = subprocess.run(argv, cwd=self.cwd, env=self.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True,
                                  timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired as error:
            output = error.output or ""
            if isinstance(output, bytes):
                output = output.decode(errors="replace")
            raise AssertionError(f"{where}: `{text}` did not end within {COMMAND_TIMEOUT} s\n"
                                 f"--- output so far:\n{output}") from None
        return done.returncode, done.stdout


def play_page(page: str, text: str, root: Path) -> None:
    """Run every block of a page, in order, in ``root``."""
    scenario = Scenario(root)
    for block in read_blocks(page, text):
        scenario.play(block)


# --------------------------------------------------------------------- the tests


@pytest.mark.parametrize("page", marked_pages())
def test_page(page: str, tmp_path: Path) -> None:
    """Every example of the page, in order, in one directory."""
    play_page(page, (DOCS / page).read_text(), tmp_path)


def test_every_page_with_code_is_tested() -> None:
    untested = [path.name for path in sorted(DOCS.glob("*.md"))
                if read_blocks(path.name, path.read_text())
                and not MARKER.search(path.read_text()) and path.name not in UNTESTED]
    assert not untested, (f"pages with code blocks but no <!-- docs-test --> marker: "
                          f"{untested} (see tests/docs/test_docs.py)")
    assert len(marked_pages()) >= 6


def test_the_index_links_every_page() -> None:
    index = (DOCS / "README.md").read_text()
    linked = set(re.findall(r"\]\(([\w-]+\.md)(?:#[\w-]*)?\)", index))
    missing = sorted(path.name for path in DOCS.glob("*.md")
                     if path.name != "README.md" and path.name not in linked)
    assert not missing, f"docs/README.md does not link {missing}"


def github_anchor(heading: str) -> str:
    """The anchor a code-hosting site gives a heading: lower case, punctuation dropped,
    spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    inside = False
    for line in path.read_text().splitlines():
        if _FENCE.match(line):
            inside = not inside
        elif not inside and (heading := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)):
            anchor, count = github_anchor(heading[1]), 1
            unique = anchor
            while unique in found:
                unique, count = f"{anchor}-{count}", count + 1
            found.add(unique)
    return found


@pytest.mark.parametrize("page", sorted(path.name for path in DOCS.glob("*.md")))
def test_links_lead_somewhere(page: str) -> None:
    path = DOCS / page
    text = re.sub(r"^(```|~~~).*?^\1\s*$", "", path.read_text(), flags=re.S | re.M)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target):
            continue  # https://, mailto:
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target} (no file {linked})")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target} (no heading #{anchor} in {linked.name})")
    assert not broken, f"docs/{page}: broken links: {broken}"


# ------------------------------------------------------- the convention checks itself


def test_wildcards() -> None:
    output = "2026-01-05 10:00:00,000 - x - INFO - one\nnoise\nmore noise\nlast line\n"
    assert matches(["... - x - INFO - one", "...", "last line"], output)
    assert matches(["...", "last ..."], output)
    assert not matches(["... - x - INFO - one", "last line"], output)
    assert not matches(["... - x - INFO - two", "..."], output)
    assert matches([], "")
    assert matches(["a  "], "a\n\n")


def test_a_broken_example_fails_naming_its_line(tmp_path: Path) -> None:
    page = textwrap.dedent("""\
        # A page

        <!-- docs-test -->

        Write `hello.py`:

        ```python file=hello.py
        print("Hello")
        ```

        ```console
        $ python hello.py
        Hello
        $ python hello.py
        Goodbye
        ```
        """)
    with pytest.raises(AssertionError, match=r"docs/page\.md:14: the output of "
                                             r"`python hello\.py` is not the one shown"):
        play_page("page.md", page, tmp_path)


def test_unmarked_blocks_and_failures_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"docs/page\.md:1: a `yaml` block must say"):
        play_page("page.md", "```yaml\na: 1\n```\n", tmp_path / "a")
    with pytest.raises(AssertionError, match=r"exited with status 3"):
        play_page("page.md", "```console\n$ python -c 'raise SystemExit(3)'\n```\n",
                  tmp_path / "b")
    play_page("page.md", "```console\n$ python -c 'raise SystemExit(3)'\n$ echo $?\n3\n```\n",
              tmp_path / "c")
