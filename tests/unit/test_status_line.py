"""The status line (a map's progress bar) and the text written above it: log records
and relayed output clear it, then draw it again below them."""

import io
import logging

import pytest

from outflow.core.logging.status_line import ConsoleHandler, StatusLine, shown_on, write_above


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def console():
    stream = FakeTerminal()
    handler = ConsoleHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log = logging.getLogger("test_status_line")
    log.propagate = False
    log.addHandler(handler)
    yield stream, log
    log.removeHandler(handler)


def test_a_record_is_written_above_the_line_which_is_drawn_again(console) -> None:
    stream, log = console
    line = StatusLine(stream)
    line.show("bar 1/4")
    log.warning("hello")
    line.show("bar 2/4")
    line.end("bar 4/4")
    assert stream.getvalue() == ("\rbar 1/4\x1b[K"
                                 "\r\x1b[KWARNING hello\n\rbar 1/4\x1b[K"
                                 "\rbar 2/4\x1b[K"
                                 "\rbar 4/4\x1b[K\n")
    assert shown_on(stream) is None  # ended: records flow as usual again
    log.warning("after")
    assert stream.getvalue().endswith("\rbar 4/4\x1b[K\nWARNING after\n")


def test_without_a_line_text_is_written_as_it_is(console) -> None:
    stream, log = console
    log.warning("plain")
    write_above(stream, "a worker's line\n")
    assert stream.getvalue() == "WARNING plain\na worker's line\n"


def test_a_line_on_another_stream_is_left_alone(console) -> None:
    stream, log = console
    other = FakeTerminal()
    line = StatusLine(other)
    line.show("bar")
    log.warning("elsewhere")
    write_above(stream, "x\n")
    line.end()
    assert stream.getvalue() == "WARNING elsewhere\nx\n"
    assert other.getvalue() == "\rbar\x1b[K"


def test_relayed_output_goes_above_the_line() -> None:
    stream = FakeTerminal()
    line = StatusLine(stream)
    line.show("bar")
    write_above(stream, "one\ntwo\n")
    line.end()
    assert stream.getvalue() == "\rbar\x1b[K\r\x1b[Kone\ntwo\n\rbar\x1b[K"
