"""The exit status of `serve --workers N`, from its last workers' exit statuses, and how the log names them.

uvicorn's process manager restarts dead and hung workers (with no back-off:
a worker that cannot start stops the server instead); the processes
themselves are in tests/redis/test_supervisor.py.
"""

from __future__ import annotations

import logging
import signal

import pytest

from docsite.workers import describe_exit, exit_status


def test_workers_stopped_by_the_signals_uvicorn_passes_on_make_a_clean_exit(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="docsite")
    assert exit_status([(11, -signal.SIGTERM), (12, 0), (13, -signal.SIGINT)]) == 0
    assert caplog.messages == ["all workers have exited"]


def test_a_worker_that_did_not_stop_cleanly_makes_the_exit_status_1(caplog: pytest.LogCaptureFixture) -> None:
    assert exit_status([(11, -signal.SIGTERM), (12, -signal.SIGKILL), (13, 1)]) == 1
    assert "worker 12 did not stop cleanly (killed by SIGKILL)" in caplog.messages
    assert "worker 13 did not stop cleanly (status 1)" in caplog.messages


def test_a_worker_that_could_not_start_makes_the_exit_status_3_like_one_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert exit_status([(11, -signal.SIGTERM), (12, 3)]) == 3
    assert "worker 12 could not start (its error is above); the server did not run" in caplog.messages


def test_exit_statuses_read_as_a_person_would_say_them() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(1) == "status 1"
    assert describe_exit(-200) == "killed by signal 200"
    assert describe_exit(None) == "no status (still running)"
