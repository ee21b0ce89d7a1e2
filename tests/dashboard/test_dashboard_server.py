"""``outflow dashboard`` as a user starts it, read over HTTP: the runs (succeeded,
failed, running, crashed), a run's document, no secret anywhere, the token beyond
this machine, Ctrl-C."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dashboardkit import SECRET, Dashboard, make_pipeline


def test_the_runs_are_listed_with_their_state_and_items(dashboard: Dashboard) -> None:
    status, body, headers = dashboard.get("/api/runs")
    assert status == 200 and headers["Content-Type"] == "application/json"
    runs = {run["id"]: run for run in json.loads(body)["runs"]}
    assert {run_id: run["state"] for run_id, run in runs.items()} == {
        1: "success", 2: "failed", 3: "running", 4: "crashed"}
    assert (runs[2]["items"], runs[2]["items_failed"]) == (3, 1)  # it stopped at item 2
    assert (runs[1]["items"], runs[1]["items_failed"]) == (5, 0)
    assert runs[3]["items_running"] == 1
    for run_id, listed in runs.items():  # a run's page counts its items the same way
        shown = json.loads(dashboard.get(f"/api/runs/{run_id}")[1])["run"]
        assert {key: shown[key] for key in ("items", "items_failed", "items_running")} == {
            key: listed[key] for key in ("items", "items_failed", "items_running")}
    assert [run["id"] for run in json.loads(dashboard.get("/api/runs?state=crashed")[1])[
        "runs"]] == [4]


def test_a_runs_document_has_its_graph_items_failures_configuration_and_log(
        dashboard: Dashboard) -> None:
    status, body, _headers = dashboard.get("/api/runs/2")
    assert status == 200
    run = json.loads(body)
    assert run["run"]["state"] == "failed"
    assert {(node["kind"], node["name"], node["state"]) for node in run["graph"]["nodes"]} == {
        ("workflow", "reduce_all", "failed"), ("task", "files", "success"),
        ("workflow", "reduction", "failed")}
    assert len(run["graph"]["edges"]) == 1
    [reduction] = run["maps"]
    assert [item["state"] for item in reduction["items"]] == ["success", "success", "failed"]
    first = run["failures"][0]
    assert (first["block"], first["index"]) == ("task reduce", 2)
    assert first["traceback"].rstrip().endswith("ValueError: cannot read {'name': 'f2.fits', "
                                                "'key': '******'}")
    assert first["inputs"] == {"file": "{'key': '******', 'name': 'f2.fits'}"}  # sorted
    assert run["configuration"]["secrets"]["api_token"] == "******"
    assert "ERROR - run 2 failed" in run["log"]["text"]
    assert dashboard.get("/api/runs/99")[0] == 404


def test_no_secret_reaches_the_browser(dashboard: Dashboard) -> None:
    paths = ["/", "/runs/1", "/static/app.js", "/static/style.css", "/api/runs",
             *(f"/api/runs/{run_id}" for run_id in (1, 2, 3, 4))]
    for path in paths:
        status, body, headers = dashboard.get(path)
        assert status == 200, path
        assert SECRET not in body, path
        assert headers["Content-Security-Policy"] == "default-src 'self'"


def test_pages_load_nothing_from_elsewhere(dashboard: Dashboard) -> None:
    for path in ("/", "/runs/1", "/static/app.js"):
        body = dashboard.get(path)[1]
        assert not re.search(r"(src|href)=\"(https?:)?//", body), path


def test_a_request_for_another_host_name_is_refused(dashboard: Dashboard) -> None:
    # A page elsewhere whose name was rebound to 127.0.0.1 sends its own name.
    assert dashboard.get("/api/runs", {"Host": "attacker.example:8470"})[0] == 403
    assert dashboard.get("/api/runs", {"Host": "localhost"})[0] == 200


def test_beyond_this_machine_every_request_needs_the_token(pipeline: Path) -> None:
    served = Dashboard(pipeline, "--host", "0.0.0.0")
    try:
        token = served.url.split("?token=")[1]
        assert len(token) >= 24
        for path in ("/", "/api/runs", "/api/runs/1", "/static/app.js"):
            status, body, _headers = served.get(path)
            assert status == 403 and "token is required" in body, path
        assert served.get("/api/runs?token=wrong")[0] == 403
        status, _body, headers = served.get(f"/?token={token}")
        assert status == 200
        cookie = headers["Set-Cookie"].split(";")[0]
        assert served.get("/api/runs", {"Cookie": cookie})[0] == 200
        code, err = served.stop()
        assert code == 0 and "every request needs the token" in err
    finally:
        if served.process.poll() is None:
            served.process.kill()


def test_ctrl_c_stops_it_cleanly(pipeline: Path) -> None:
    served = Dashboard(pipeline)
    assert served.url.startswith("http://127.0.0.1:")
    assert served.get("/api/runs")[0] == 200
    code, err = served.stop()
    assert code == 0 and "outflow dashboard: stopped" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_run_is_followed_while_it_writes(tmp_path: Path, dialect: str,
                                           request: pytest.FixtureRequest) -> None:
    database = (request.getfixturevalue("postgresql_fixture").config
                if dialect == "postgresql" else None)
    root = make_pipeline(tmp_path / "pipeline", database)
    served = Dashboard(root)
    writer = subprocess.Popen([sys.executable, "-m", "outflow", "reduce_all", "--pause", "0.6"],
                              cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        seen: set[str] = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, body, _headers = served.get("/api/runs")
            assert status == 200, body
            runs = json.loads(body)["runs"]
            if runs:
                seen.add(runs[0]["state"])
                if runs[0]["state"] == "success" and runs[0]["items"] == 5:
                    break
            time.sleep(0.1)
        assert writer.wait(timeout=60) == 0, writer.communicate()
        assert seen >= {"running", "success"}, seen
        status, body, _headers = served.get("/api/runs/1")
        assert [item["state"] for item in json.loads(body)["maps"][0]["items"]] == [
            "success"] * 5
    finally:
        served.stop()
        if writer.poll() is None:
            writer.kill()
