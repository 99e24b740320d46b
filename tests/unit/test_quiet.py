"""``edgeport._quiet``: native output captured around a call, replayed on failure, shown when verbose."""

from __future__ import annotations

import logging
import os

import pytest

from edgeport import _quiet


@pytest.fixture()
def quiet_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_quiet.ENV_VAR, raising=False)


def _native_write(text: str) -> None:
    os.write(2, text.encode())  # straight to fd 2, as a C++ logger does: no Python stream involved


def test_native_output_drops_what_a_successful_call_wrote(quiet_mode, capfd):
    with _quiet.native_output():
        _native_write("[threadpool.cpp:66] Resetting threadpool to 2 threads.\n")
    _native_write("after\n")
    err = capfd.readouterr().err
    assert "Resetting threadpool" not in err
    assert err == "after\n"  # fd 2 is back where it was


def test_native_output_replays_the_capture_when_the_call_fails(quiet_mode, capfd):
    with pytest.raises(RuntimeError, match="boom"):
        with _quiet.native_output():
            _native_write("the backend's reason\n")
            raise RuntimeError("boom")
    assert capfd.readouterr().err == "the backend's reason\n"


def test_native_output_nests(quiet_mode, capfd):
    with _quiet.native_output():
        with pytest.raises(ValueError):
            with _quiet.native_output():
                _native_write("inner\n")
                raise ValueError
        _native_write("outer\n")
    _native_write("done\n")
    assert capfd.readouterr().err == "done\n"  # the inner replay went into the outer capture


def test_verbose_shows_native_output(monkeypatch: pytest.MonkeyPatch, capfd):
    _quiet.set_verbose(True)
    try:
        assert os.environ[_quiet.ENV_VAR] == "1"  # child processes inherit it
        with _quiet.native_output():
            _native_write("shown\n")
    finally:
        _quiet.set_verbose(False)
    assert capfd.readouterr().err == "shown\n"
    assert _quiet.ENV_VAR not in os.environ


def test_quiet_backends_sets_knobs_without_overriding_the_user(quiet_mode, monkeypatch: pytest.MonkeyPatch):
    for key in _quiet.ENV_KNOBS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # the user's own choice
    logger = logging.getLogger("torchao")
    before = logger.level
    logger.setLevel(logging.NOTSET)
    try:
        _quiet.quiet_backends()
        assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
        assert os.environ["GLOG_minloglevel"] == _quiet.ENV_KNOBS["GLOG_minloglevel"]
        assert not logger.isEnabledFor(logging.WARNING)
    finally:
        logger.setLevel(before)
