"""Opening workspaces, the read-only SQL gate and settings."""

from __future__ import annotations

import pytest

import rasv


def test_open_creates_folder_layout(tmp_path):
    with rasv.open(tmp_path / "w") as ws:
        assert (ws.root / "rasv.duckdb").exists()
        assert (ws.root / "audio" / "clips").is_dir()
        assert (ws.root / "audio" / "takes").is_dir()


def test_reopen_keeps_data(tmp_path):
    with rasv.open(tmp_path / "w") as ws:
        ws.roles.create("a-b")
    with rasv.open(tmp_path / "w") as ws:
        assert ws.roles.get("a-b").name == "b"


def test_sql_is_read_only_unless_asked(ws):
    with pytest.raises(rasv.InvalidInput, match="read-only"):
        ws.sql("DELETE FROM roles")
    ws.sql("INSERT INTO settings VALUES ('k', '1')", write=True)
    assert ws.sql("SELECT value FROM settings WHERE key = 'k'").value.tolist() == ["1"]


def test_sql_errors_are_rasv_errors(ws):
    with pytest.raises(rasv.InvalidInput, match="SQL failed"):
        ws.sql("SELECT * FROM no_such_table")


def test_settings_round_trip(ws):
    ws.set_setting("ui", {"lang": "zh", "page": 2})
    assert ws.get_setting("ui") == {"lang": "zh", "page": 2}
    assert ws.get_setting("missing", 5) == 5


def test_a_file_in_place_of_the_folder_is_refused(tmp_path):
    p = tmp_path / "file"
    p.write_text("x")
    with pytest.raises(rasv.WorkspaceError):
        rasv.open(p)


def test_a_folder_that_cannot_be_made_is_a_workspace_error(tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(rasv.WorkspaceError, match="cannot create the workspace folder"):
        rasv.open(tmp_path / "a_file" / "ws")
