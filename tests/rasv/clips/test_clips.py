"""The clip catalogue: adding, importing .list files, filtering, editing, deleting, exporting."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import rasv
import rasv.testing
from rasv.audio.files import BlobStore
from rasv.clips.listfile import parse_list
from rasv.testing import make_clip, write_list


def blobs(ws) -> list[Path]:
    return sorted(p for p in (ws.root / "audio" / "clips").rglob("*") if p.is_file())


@pytest.fixture
def src(tmp_path):
    """A folder of source clips: durations 2, 3, 4.5, 10, 12 s."""
    d = tmp_path / "src"
    for i, dur in enumerate([2.0, 3.0, 4.5, 10.0, 12.0]):
        make_clip(d / f"c{i}.wav", dur, seed=i, f0=120 + 10 * i)
    return d


# -- add ----------------------------------------------------------------------------------------


def test_add_stores_content_addressed_copy(ws, role, src):
    c = ws.clips.add(role, src / "c2.wav", text="你好", lang="ZH", category="温柔")
    assert c.path == f"audio/clips/{c.sha256[:2]}/{c.sha256}.wav"
    assert (ws.root / c.path).read_bytes() == (src / "c2.wav").read_bytes()
    assert (c.lang, c.category, c.valid, c.channels) == ("zh", "温柔", True, 1)
    assert ws.clips.categories.list(role) == ["default", "温柔"]


@pytest.mark.parametrize(("dur", "valid"), [(2.99, False), (3.0, True), (10.0, True), (10.01, False)])
def test_validity_is_the_3_to_10_second_rule(ws, role, tmp_path, dur, valid):
    c = ws.clips.add(role, make_clip(tmp_path / "v.wav", dur))
    assert c.valid is valid


@pytest.mark.parametrize(("ext", "rate", "channels"), [("flac", 44100, 2), ("ogg", 48000, 1), ("mp3", 32000, 1)])
def test_other_formats_keep_their_format_rate_and_channels(ws, role, tmp_path, ext, rate, channels):
    p = make_clip(tmp_path / f"x.{ext}", 4.0, sample_rate=rate, channels=channels)
    c = ws.clips.add(role, p)
    assert c.path.endswith(f".{ext}") and c.sample_rate == rate and c.channels == channels
    assert c.duration_s == pytest.approx(4.0, abs=0.06)


def test_add_missing_or_non_audio_file_is_a_clear_error(ws, role, tmp_path):
    with pytest.raises(rasv.AudioError, match="not found"):
        ws.clips.add(role, tmp_path / "nope.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(rasv.AudioError, match="cannot read audio"):
        ws.clips.add(role, bad)
    assert blobs(ws) == [] and ws.clips.count(role) == 0


def test_add_duplicate_policies(ws, role, src):
    a = ws.clips.add(role, src / "c1.wav")
    with pytest.raises(rasv.AlreadyExists, match="same audio"):
        ws.clips.add(role, src / "c1.wav")
    assert ws.clips.add(role, src / "c1.wav", on_duplicate="skip").id == a.id
    b = ws.clips.add(role, src / "c1.wav", on_duplicate="rename")
    assert b.id != a.id and b.name == "c1_2.wav" and b.path == a.path
    assert len(blobs(ws)) == 1


def test_same_content_in_two_roles_is_stored_once(ws, src):
    r1, r2 = ws.roles.create("a"), ws.roles.create("b")
    c1 = ws.clips.add(r1, src / "c1.wav")
    c2 = ws.clips.add(r2, src / "c1.wav")
    assert c1.path == c2.path and len(blobs(ws)) == 1


# -- import ---------------------------------------------------------------------------------------


def test_import_report_and_rows(ws, role, src, tmp_path):
    lst = write_list(tmp_path / "a.list", [
        (src / "c0.wav", "zs", "ZH", "短"),
        (src / "c1.wav", "zs", "JP", "三秒|です"),
        "just garbage",
        (tmp_path / "gone.wav", "zs", "EN", "x"),
        (src / "c2.wav", "zs", "xx", "bad lang"),
        "",
        (src / "c3.wav", "zs", "en", "ten seconds"),
    ])
    rep = ws.clips.import_list(role, lst, category="批次1", calibrated=True)
    assert len(rep.added) == 3 and rep.overwritten == []
    assert [s[0] for s in rep.skipped] == [3, 4, 5]
    assert "not found" in rep.skipped[1][1] and "unknown language" in rep.skipped[2][1]
    df = ws.clips.df(role, sort="name")
    assert df.name.tolist() == ["c0.wav", "c1.wav", "c3.wav"]
    assert df.text.tolist() == ["短", "三秒|です", "ten seconds"]
    assert df.lang.tolist() == ["zh", "ja", "en"]
    assert df.valid.tolist() == [False, True, True]
    assert set(df.category) == {"批次1"} and df.calibrated.all()
    clip = ws.clips.get(int(df.id.iloc[1]))
    assert (clip.list_line, clip.speaker) == (2, "zs")


def test_import_relative_and_windows_paths(ws, role, src, tmp_path):
    rel = write_list(src / "rel.list", [("c2.wav", "s", "zh", "相对路径")])
    assert len(ws.clips.import_list(role, rel).added) == 1
    win = write_list(tmp_path / "win.list", ["D:\\GPT-SoVITS\\slicer\\c3.wav|s|ZH|windows"],
                     newline="\r\n", encoding="utf-8", bom=True)
    rep = ws.clips.import_list(role, win)
    assert rep.added == [] and "Windows path: map D:/GPT-SoVITS/slicer/ to" in rep.skipped[0][1]
    rep = ws.clips.import_list(role, win, path_map={"D:\\GPT-SoVITS\\slicer": str(src)})
    assert len(rep.added) == 1


def test_import_duplicates_skip_overwrite_rename(ws, role, src, tmp_path):
    lst = write_list(tmp_path / "a.list", [(src / "c1.wav", "s", "zh", "一"), (src / "c2.wav", "s", "zh", "二")])
    first = ws.clips.import_list(role, lst)
    assert len(first.added) == 2
    again = ws.clips.import_list(role, lst)
    assert again.added == [] and len(again.skipped) == 2 and "same file name" in again.skipped[0][1]

    # Overwrite: same file name, new content and text; the clip keeps its id.
    other = tmp_path / "other"
    make_clip(other / "c1.wav", 5.0, seed=99)
    lst2 = write_list(tmp_path / "b.list", [(other / "c1.wav", "s", "en", "new text")])
    old = ws.clips.get(first.added[0])
    rep = ws.clips.import_list(role, lst2, on_duplicate="overwrite")
    assert rep.overwritten == [old.id]
    new = ws.clips.get(old.id)
    assert new.sha256 != old.sha256 and new.text == "new text" and new.lang == "en"
    assert not (ws.root / old.path).exists(), "the replaced audio is released"

    rep = ws.clips.import_list(role, lst2, on_duplicate="rename")
    assert len(rep.added) == 1 and ws.clips.get(rep.added[0]).name == "c1_2.wav"
    assert rep.renamed == rep.added


def test_import_same_content_under_another_name_is_a_duplicate(ws, role, src, tmp_path):
    (tmp_path / "copy.wav").write_bytes((src / "c1.wav").read_bytes())
    ws.clips.import_list(role, write_list(tmp_path / "a.list", [(src / "c1.wav", "s", "zh", "x")]))
    rep = ws.clips.import_list(role, write_list(tmp_path / "b.list", [(tmp_path / "copy.wav", "s", "zh", "x")]))
    assert rep.added == [] and "same audio" in rep.skipped[0][1]


def test_duplicate_lines_inside_one_list(ws, role, src, tmp_path):
    lst = write_list(tmp_path / "a.list", [(src / "c1.wav", "s", "zh", "a"), (src / "c1.wav", "s", "zh", "b")])
    rep = ws.clips.import_list(role, lst)
    assert len(rep.added) == 1 and rep.skipped == [(2, "same file name as line 1")]


def test_non_audio_line_is_skipped_with_reason(ws, role, src, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    rep = ws.clips.import_list(role, write_list(tmp_path / "a.list", [(bad, "s", "zh", "x"), (src / "c2.wav", "s", "zh", "y")]))
    assert len(rep.added) == 1 and rep.skipped[0][0] == 1 and "cannot read audio" in rep.skipped[0][1]


def test_unreadable_list_raises_and_writes_nothing(ws, role, tmp_path):
    with pytest.raises(rasv.ListFormatError):
        ws.clips.import_list(role, tmp_path / "missing.list")
    assert ws.clips.count(role) == 0


def test_import_failing_midway_leaves_nothing_behind(ws, role, src, tmp_path, monkeypatch):
    lst = write_list(tmp_path / "a.list", [(src / f"c{i}.wav", "s", "zh", str(i)) for i in range(5)])
    real_put = BlobStore.put
    calls = {"n": 0}

    def full_disk(self, path, sha256=None):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real_put(self, path, sha256=sha256)

    monkeypatch.setattr(BlobStore, "put", full_disk)
    with pytest.raises(rasv.WorkspaceError, match="No space left.*nothing was imported"):
        ws.clips.import_list(role, lst)
    assert ws.clips.count(role) == 0 and blobs(ws) == []


def test_import_interrupted_by_the_user_leaves_nothing_behind(ws, role, src, tmp_path):
    lst = write_list(tmp_path / "a.list", [(src / f"c{i}.wav", "s", "zh", str(i)) for i in range(5)])

    def progress(done, total):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ws.clips.import_list(role, lst, progress=progress)
    assert ws.clips.count(role) == 0 and blobs(ws) == []


def test_import_without_copy_references_files_in_place(ws, role, src, tmp_path):
    lst = write_list(tmp_path / "a.list", [(src / "c2.wav", "s", "zh", "x")])
    rep = ws.clips.import_list(role, lst, copy=False)
    c = ws.clips.get(rep.added[0])
    assert Path(c.path).is_absolute() and blobs(ws) == []
    assert ws.clips.abspath(c.id) == (src / "c2.wav").resolve()
    ws.clips.delete(c.id)
    assert (src / "c2.wav").exists(), "a file outside the workspace is never deleted"


def test_files_kept_in_place_inside_the_workspace_folder_are_never_deleted(ws, role):
    raw = ws.root / "raw" / "slicer_opt"  # the user keeps the slicer output in the workspace
    files = [make_clip(raw / f"v{i}.wav", 4.0 + i, seed=40 + i) for i in range(2)]
    lst = write_list(raw / "v.list", [(f, "s", "zh", "x") for f in files])
    rep = ws.clips.import_list(role, lst, copy=False)
    ws.clips.delete(rep.added[0])
    ws.roles.delete(role)
    assert all(Path(f).exists() for f in files), "the user's own audio was deleted"


def test_import_progress_is_reported(ws, role, src, tmp_path):
    seen = []
    lst = write_list(tmp_path / "a.list", [(src / f"c{i}.wav", "s", "zh", str(i)) for i in range(3)])
    ws.clips.import_list(role, lst, progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)


# -- listing and editing ----------------------------------------------------------------------------


@pytest.fixture
def filled(ws, role, src, tmp_path):
    lst = write_list(tmp_path / "a.list", [
        (src / "c0.wav", "s", "zh", "早上好"),
        (src / "c1.wav", "s", "en", "Good morning"),
        (src / "c2.wav", "s", "zh", "晚上好"),
        (src / "c3.wav", "s", "ja", "おはよう"),
        (src / "c4.wav", "s", "zh", "早安"),
    ])
    ids = ws.clips.import_list(role, lst).added
    ws.clips.update(ids[1], calibrated=True, category="英文")
    return ids


def test_df_filters(ws, role, filled):
    names = lambda **kw: sorted(ws.clips.df(role, **kw).name)  # noqa: E731
    assert names(text="早") == ["c0.wav", "c4.wav"]
    assert names(name="C3") == ["c3.wav"]
    assert names(category="英文") == ["c1.wav"]
    assert names(category=["英文", "default"]) == [f"c{i}.wav" for i in range(5)]
    assert names(valid=True) == ["c1.wav", "c2.wav", "c3.wav"]
    assert names(valid=False) == ["c0.wav", "c4.wav"]
    assert names(calibrated=True) == ["c1.wav"]
    assert names(lang="ZH") == ["c0.wav", "c2.wav", "c4.wav"]
    assert names(min_duration=4, max_duration=10) == ["c2.wav", "c3.wav"]
    assert names(ids=filled[:2]) == ["c0.wav", "c1.wav"]


def test_df_sort_and_paging(ws, role, filled):
    assert ws.clips.df(role).duration_s.is_monotonic_decreasing
    assert ws.clips.df(role, sort="name").name.tolist() == [f"c{i}.wav" for i in range(5)]
    page = ws.clips.df(role, sort="name", limit=2, offset=2).name.tolist()
    assert page == ["c2.wav", "c3.wav"] and ws.clips.count(role, valid=True) == 3
    with pytest.raises(rasv.InvalidInput, match="cannot sort"):
        ws.clips.df(role, sort="path; drop table clips")


def test_df_columns_contract(ws, role, filled):
    cols = set(ws.clips.df(role).columns)
    assert {"id", "name", "path", "text", "lang", "category", "duration_s", "valid", "calibrated",
            "remark", "parent_id", "score_max", "score_mean", "n_scores"} <= cols


def test_update_fields_and_errors(ws, role, filled):
    c = ws.clips.update(filled[0], text="改过", lang="all_zh", remark="好", calibrated=1, category="新")
    assert (c.text, c.lang, c.remark, c.calibrated, c.category) == ("改过", "all_zh", "好", True, "新")
    assert "新" in ws.clips.categories.list(role)
    with pytest.raises(rasv.InvalidInput, match="cannot update"):
        ws.clips.update(filled[0], duration_s=1)
    with pytest.raises(rasv.InvalidInput, match="unknown language"):
        ws.clips.update(filled[0], lang="klingon")
    with pytest.raises(rasv.ClipNotFound):
        ws.clips.update(999, text="x")
    assert ws.clips.update_many(filled[:3], remark="批量") == 3


def test_delete_releases_only_unreferenced_audio(ws, src):
    r1, r2 = ws.roles.create("a"), ws.roles.create("b")
    a = ws.clips.add(r1, src / "c1.wav")
    b = ws.clips.add(r2, src / "c1.wav")
    c = ws.clips.add(r1, src / "c2.wav")
    ws.aux.add_from_clips([c.id])
    ws.clips.delete([a.id, c.id])
    assert (ws.root / b.path).exists(), "still used by role b"
    assert (ws.root / c.path).exists(), "still used by the aux pool"
    ws.clips.delete(b.id)
    assert not (ws.root / b.path).exists()
    with pytest.raises(rasv.ClipNotFound):
        ws.clips.delete(12345)


def test_role_delete_removes_its_clips_and_files(ws, src):
    r1, r2 = ws.roles.create("a"), ws.roles.create("b")
    a = ws.clips.add(r1, src / "c1.wav")
    ws.clips.add(r1, src / "c2.wav")
    ws.clips.add(r2, src / "c2.wav")
    ws.roles.delete(r1)
    assert not (ws.root / a.path).exists() and len(blobs(ws)) == 1


# -- categories -------------------------------------------------------------------------------------


def test_categories_create_rename_merge_delete(ws, role, filled):
    cats = ws.clips.categories
    cats.create(role, "温柔")
    ws.clips.update(filled[2], category="温柔")
    assert cats.rename(role, "温柔", "甜") == 1 and ws.clips.get(filled[2]).category == "甜"
    with pytest.raises(rasv.AlreadyExists):
        cats.rename(role, "甜", "英文")
    assert cats.merge(role, ["甜", "英文"], "合并") == 2
    assert cats.list(role) == ["default", "合并"]
    assert cats.delete(role, "合并") == 2
    assert cats.list(role) == ["default"] and ws.clips.get(filled[2]).category == "default"
    for bad in (lambda: cats.delete(role, "default"), lambda: cats.rename(role, "default", "x"),
                lambda: cats.rename(role, "nope", "x")):
        with pytest.raises(rasv.InvalidInput):
            bad()


def test_categories_df_counts(ws, role, filled):
    df = ws.clips.categories.df(role).set_index("name")
    assert df.loc["英文", "n_clips"] == 1 and df.loc["default", "n_clips"] == 4
    assert df.loc["default", "n_valid"] == 2


# -- export -----------------------------------------------------------------------------------------


def test_export_list_is_reimportable(ws, role, filled, tmp_path):
    ws.clips.update(filled[1], text='say "hi" | bye')
    out = ws.clips.export_list(role, tmp_path / "out")
    parsed = parse_list(out)
    assert parsed.problems == [] and len(parsed.entries) == 5
    assert all(e.path.startswith("audio/") for e in parsed.entries)
    assert {e.lang for e in parsed.entries} == {"zh", "en", "ja"}
    assert 'say "hi" ｜ bye' in [e.text for e in parsed.entries]
    r2 = ws.roles.create("copy")
    rep = ws.clips.import_list(r2, out)
    assert len(rep.added) == 5 and rep.skipped == []


def test_export_names_are_safe_and_unique(ws, role, src, tmp_path):
    a = ws.clips.add(role, src / "c1.wav", name='a:b?.wav')
    ws.clips.add(role, src / "c2.wav", name='a:b?.wav')
    ws.clips.add(role, src / "c3.wav", name='CON.wav')
    out = ws.clips.export_list(role, tmp_path / "o", absolute=True)
    files = sorted(p.name for p in (tmp_path / "o" / "audio").iterdir())
    assert files == ["_CON.wav", "a_b_.wav", "a_b__2.wav"]
    assert all(Path(e.path).is_absolute() for e in parse_list(out).entries)
    assert a.name == "a:b?.wav"


def test_exporting_again_to_the_same_folder_copies_nothing_twice(ws, role, src, tmp_path):
    a = ws.clips.add(role, src / "c1.wav", text="旧")
    ws.clips.add(role, src / "c2.wav")
    ws.clips.export_list(role, tmp_path / "o")
    ws.clips.update(a.id, text="新")
    out = ws.clips.export_list(role, tmp_path / "o")
    files = sorted(p.name for p in (tmp_path / "o" / "audio").iterdir())
    assert files == ["c1.wav", "c2.wav"]
    assert [e.text for e in parse_list(out).entries] == ["新", ""]
    other = ws.roles.create("女-小红")  # another clip named c1.wav: a new name, not a clash
    ws.clips.add(other, src / "c3.wav", name="c1.wav")
    out = ws.clips.export_list(other, tmp_path / "o")
    assert [e.path for e in parse_list(out).entries] == ["audio/c1_2.wav"]


def test_exports_to_a_folder_or_file_of_the_wrong_kind_are_refused(ws, role, filled, tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(rasv.InvalidInput, match="is a file"):
        ws.clips.export_list(role, tmp_path / "notes.txt")
    for export in (ws.scores.export, lambda d: ws.products.export([1], d)):
        with pytest.raises(rasv.InvalidInput, match="is a folder"):
            export(tmp_path)


def test_export_zip(ws, role, filled, tmp_path):
    z = ws.clips.export_list(role, tmp_path / "pack", zip=True, valid=True)
    assert z.suffix == ".zip" and not (tmp_path / "pack").exists()
    with zipfile.ZipFile(z) as zf:
        names = zf.namelist()
        assert "男性-张三.list" in names and sum(n.startswith("audio/") for n in names) == 3
        data = zf.read("audio/" + sorted(n for n in names if n.startswith("audio/"))[0][6:])
        assert data[:4] == b"RIFF"


def test_split_clip_lineage_fields_via_add(ws, role, tmp_path):
    x = np.zeros(16000 * 4, dtype=np.float32)
    sf.write(tmp_path / "p.wav", x, 16000)
    parent = ws.clips.add(role, tmp_path / "p.wav")
    sf.write(tmp_path / "k.wav", x[:48000], 16000)
    child = ws.clips.add(role, tmp_path / "k.wav", parent_id=parent.id, segments=[[(0.0, 1.5), (2.0, 3.5)]])
    assert child.parent_id == parent.id and child.segments == (((0.0, 1.5), (2.0, 3.5)),)
    assert ws.clips.df(role, parent_id=parent.id).id.tolist() == [child.id]


def test_deleting_a_clip_keeps_audio_a_product_still_needs(ws, role, src, tmp_path):
    c = ws.clips.add(role, src / "c2.wav", text="参考")
    p = ws.products.create(role, "手工", clip=c.id)
    ws.clips.delete(c.id)
    assert (ws.root / c.path).exists(), "the product's reference audio is kept"
    out = ws.products.export([p.id], tmp_path / "pack.zip")
    with zipfile.ZipFile(out) as zf:
        assert any(n.endswith(".wav") for n in zf.namelist())


def test_df_shows_the_latest_score_roll_up(ws, role, src):
    c = ws.clips.add(role, src / "c2.wav", text="参考")
    task = ws.tasks.create(role, "t", texts=["你好"], clips=[c.id], engine="fake",
                           seeds=[1, 2])
    ws.tasks.run(task, rasv.testing.FakeEngine())
    a, b = ws.takes.df(task).id.tolist()
    ws.scores.set(a, 4)
    ws.scores.set(b, 2)
    row = ws.clips.df(role).iloc[0]
    assert (row.score_max, row.score_mean, row.n_scores, row.n_takes) == (4, 3.0, 2, 2)
    ws.scores.clear(a)
    row = ws.clips.df(role).iloc[0]
    assert (row.score_max, row.n_scores) == (2, 1)


def test_deleting_a_clip_takes_its_unmade_takes_out_of_tasks(ws, role, src):
    a = ws.clips.add(role, src / "c2.wav", text="一")
    b = ws.clips.add(role, src / "c3.wav", text="二")
    task = ws.tasks.create(role, "t", texts=["你好"], clips=[a.id, b.id], engine="fake")
    ws.tasks.run(task, rasv.testing.FakeEngine(fail=lambda r: r.ref_audio_path.endswith(b.path.split("/")[-1])))
    assert task.counts().failed == 1
    ws.clips.delete(b.id)
    counts = task.counts()
    assert (counts.total, counts.done, counts.failed, counts.status) == (1, 1, 0, "done")
    assert ws.takes.df(task).clip_id.tolist() == [a.id]


def test_import_creates_a_missing_role_only_when_something_is_added(ws, tmp_path):
    bad = write_list(tmp_path / "bad.list", ["missing.wav|s|ZH|x", "broken line"])
    empty = write_list(tmp_path / "empty.list", [])
    for lst in (bad, empty):
        rep = ws.clips.import_list("男性-李四", lst, create_role=True)
        assert rep.added == [] and rep.created_role is None
    assert ws.roles.list().empty
    with pytest.raises(rasv.RoleNotFound):
        ws.clips.import_list("男性-李四", bad)  # no create_role: the role must exist
    good = write_list(tmp_path / "good.list", [(make_clip(tmp_path / "g.wav", 4.0), "s", "ZH", "好")])
    rep = ws.clips.import_list("男性-李四", good, create_role=True)
    assert rep.created_role == "男性-李四" and len(rep.added) == 1
    assert ws.roles.list().label.tolist() == ["男性-李四"]


def test_an_import_that_adds_nothing_creates_no_category(ws, role, tmp_path):
    bad = write_list(tmp_path / "bad.list", ["missing.wav|s|ZH|x"])
    ws.clips.import_list(role, bad, category="温柔")
    assert "温柔" not in ws.clips.categories.list(role)
