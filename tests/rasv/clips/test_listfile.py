"""Parsing real-world `.list` files: encodings, line ends, odd fields, path rules."""

from __future__ import annotations

from pathlib import Path

import pytest

import rasv
from rasv.clips.listfile import (
    decode,
    is_windows_absolute,
    list_lang,
    parse_list,
    resolve_audio_path,
)

LINES = ["a.wav|spk|ZH|你好，世界。", "b.wav|spk|JP|こんにちは", "c.wav|spk|en|Hello | there"]


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", False), ("utf-8", True), ("utf-16", False), ("utf-16-le", False),
     ("utf-16-be", False), ("gbk", False), ("gb18030", False)],
)
def test_encodings_are_detected(tmp_path, encoding, bom):
    lines = LINES if not encoding.startswith("gb") else [LINES[0], LINES[2]]
    data = "\n".join(lines).encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    p = tmp_path / "x.list"
    p.write_bytes(data)
    parsed = parse_list(p)
    assert [e.text for e in parsed.entries] == [line.split("|", 3)[3] for line in lines]
    assert parsed.problems == []


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_numbers_are_physical_lines(tmp_path, newline):
    p = tmp_path / "x.list"
    p.write_bytes(newline.join(["", LINES[0], "", "   ", "garbage", LINES[1]]).encode())
    parsed = parse_list(p)
    assert [e.line_no for e in parsed.entries] == [2, 6]
    assert parsed.problems == [(5, "expected 4 fields audio_path|speaker|language|text, found 1")]


def test_pipe_inside_text_is_kept(tmp_path):
    p = tmp_path / "x.list"
    p.write_text("a.wav|s|zh|一|二|三\n", encoding="utf-8")
    assert parse_list(p).entries[0].text == "一|二|三"


def test_language_codes_are_normalised_and_unknown_ones_reported(tmp_path):
    p = tmp_path / "x.list"
    rows = ["a|s|ZH|x", "b|s|JA|x", "c|s|JP|x", "d|s|EN|x", "e|s|KO|x", "f|s|YUE|x",
            "g|s|all_zh|x", "h|s|AUTO|x", "i|s|klingon|x", "|s|zh|x"]
    p.write_text("\n".join(rows), encoding="utf-8")
    parsed = parse_list(p)
    assert [e.lang for e in parsed.entries] == ["zh", "ja", "ja", "en", "ko", "yue", "all_zh", "auto"]
    assert parsed.problems == [(9, "unknown language 'klingon'"), (10, "empty audio path")]


def test_unreadable_files_raise_list_format_error(tmp_path):
    with pytest.raises(rasv.ListFormatError, match="file not found"):
        parse_list(tmp_path / "missing.list")
    p = tmp_path / "bin.list"
    p.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(rasv.ListFormatError, match="not a text file"):
        parse_list(p)


def test_decode_prefers_utf8_and_falls_back_to_gb18030():
    assert decode("中文".encode())[1] == "utf-8"
    assert decode("中文".encode("gb18030"))[1] == "gb18030"


def test_path_map_longest_prefix_and_windows_case(tmp_path):
    pm = {"D:/GSV/": "/data/gsv/", "d:\\gsv\\output\\": "/fast/out/"}
    got = resolve_audio_path("D:\\GSV\\output\\slicer\\a.wav", tmp_path, pm)
    assert got.as_posix() == "/fast/out/slicer/a.wav"
    got = resolve_audio_path("D:/GSV/other/b.wav", tmp_path, pm)
    assert got.as_posix() == "/data/gsv/other/b.wav"


def test_path_map_respects_path_boundaries(tmp_path):
    got = resolve_audio_path("/data/gsv2/a.wav", tmp_path, {"/data/gsv": "/x"})
    assert got.as_posix() == "/data/gsv2/a.wav"


def test_relative_paths_resolve_against_the_list_folder(tmp_path):
    assert resolve_audio_path("sub\\a.wav", tmp_path) == tmp_path / "sub" / "a.wav"


def test_audio_dir_uses_only_the_file_name(tmp_path):
    got = resolve_audio_path("C:\\x\\y\\a.wav", tmp_path, audio_dir=tmp_path / "w")
    assert got == tmp_path / "w" / "a.wav"


def test_windows_absolute_detection():
    assert is_windows_absolute("c:/a") and is_windows_absolute("\\\\srv\\share\\a.wav")
    assert not is_windows_absolute("/c/a") and not is_windows_absolute("a\\b")


def test_list_lang_for_training():
    assert [list_lang(c) for c in ("zh", "all_zh", "ja", "en", "ko", "yue")] == [
        "ZH", "ZH", "JA", "EN", "KO", "YUE"]


def test_bom_only_on_first_line_does_not_leak_into_path(tmp_path):
    p = tmp_path / "x.list"
    p.write_bytes(b"\xef\xbb\xbf" + b"a.wav|s|zh|x")
    assert parse_list(p).entries[0].path == "a.wav"
    assert Path(parse_list(p).entries[0].path).name == "a.wav"
