"""Finished products: create, edit, list, delete, the exact api_v2 body, and zip packs."""

from __future__ import annotations

import json
import re
import zipfile

import pytest

import rasv
from rasv.clips.listfile import parse_list
from rasv.products.packs import RAS_DEFAULT_DELIMITER
from rasv.testing import FakeEngine, make_clip
from tests.rasv.review_task import add_model, make_task

WINDOWS_BAD = re.compile(r'[<>:"\\|?*\x00-\x1f]')
RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
            *(f"lpt{i}" for i in range(1, 10))}


def windows_safe(arcname: str) -> bool:
    for part in arcname.rstrip("/").split("/"):
        if not part or WINDOWS_BAD.search(part) or part.endswith((".", " ")):
            return False
        if part.split(".")[0].lower() in RESERVED:
            return False
    return True


@pytest.fixture
def task(ws, role, tmp_path):
    g = add_model(ws, tmp_path, "gpt", "voice-e15.ckpt", epoch=15)
    s = add_model(ws, tmp_path, "sovits", "voice_e8_s96.pth")
    return make_task(ws, role, tmp_path / "src", n_clips=2, texts=[("你好世界。", "zh")],
                     fixed=rasv.Params(top_k=12, sample_steps=16, super_sampling=True),
                     vary={"gpt": [g], "sovits": [s]}, seeds=(42,))


def test_create_from_take_freezes_its_configuration(ws, role, task):
    tid = task.take_ids[0]
    ws.scores.set(tid, 4, remark="稳定")
    p = ws.products.create_from_take(tid, "温柔")
    take = ws.takes.get(tid)
    assert (p.params, p.seed, p.clip_id) == (take.params, 42, take.clip_id)
    assert (p.gpt_id, p.sovits_id, p.score, p.remark) == (take.gpt_id, take.sovits_id, 4, "稳定")
    assert p.source_take_id == tid and p.category == "happy" and p.prompt_text == take.prompt_text
    # Editing the clip's transcript later does not change the product.
    ws.clips.update(take.clip_id, text="改过的文本。")
    assert ws.products.get(p.id).prompt_text == take.prompt_text
    with pytest.raises(rasv.AlreadyExists):
        ws.products.create_from_take(tid, "温柔")


def test_export_request_is_the_exact_api_v2_body(ws, task):
    p = ws.products.create_from_take(task.take_ids[0], "a")
    body = ws.products.export_request(p.id, "测试一下。")
    take = ws.takes.get(task.take_ids[0])
    expected = rasv.SynthesisRequest.from_params(
        take.params, text="测试一下。", text_lang="zh",
        ref_audio_path=str(ws.clips.abspath(take.clip_id)), prompt_text=take.prompt_text,
        prompt_lang="zh").to_api_body()
    assert body == expected
    assert body["seed"] == 42 and body["sample_steps"] == 16 and body["super_sampling"] is True
    assert json.loads(json.dumps(body)) == body
    assert ws.products.export_request(p.id, "hi", "EN")["text_lang"] == "en"


def test_create_by_hand_update_list_and_delete(ws, role, task, tmp_path):
    other = ws.roles.create("女-小红")
    c = ws.clips.add(other, make_clip(tmp_path / "x.wav", 5.0), text="你好。", category="calm")
    p = ws.products.create(other, "开朗", clip=c.id, params=rasv.Params(top_k=20, seed=3),
                           score=5)
    assert p.category == "calm" and p.engine_kind == "gpt-sovits" and p.aux_ids == ()
    with pytest.raises(rasv.InvalidInput, match="another role"):
        ws.products.create(role, "x", clip=c.id)
    q = ws.products.create_from_take(task.take_ids[1], "低沉", score=2)
    everyone = ws.products.df()
    assert everyone.name.tolist() == ["开朗", "低沉"]  # best score first, across roles
    assert everyone.role.tolist() == ["女-小红", "男性-张三"]
    assert everyone.set_index("name").loc["低沉", "gpt"] == "voice e15"
    assert ws.products.df(role).name.tolist() == ["低沉"]
    assert ws.products.df(name="开").name.tolist() == ["开朗"]
    assert ws.products.df(category=["calm"]).name.tolist() == ["开朗"]
    u = ws.products.update(q.id, name="深沉", params={"top_k": 7}, score=3,
                           prompt_text="新的提示。")
    assert (u.name, u.params.top_k, u.params.seed, u.score, u.prompt_text) == (
        "深沉", 7, 42, 3, "新的提示。")
    with pytest.raises(rasv.InvalidInput):
        ws.products.update(q.id, score=9)
    ws.products.delete([p.id, q.id])
    assert ws.products.df().empty
    with pytest.raises(rasv.ProductNotFound):
        ws.products.delete(p.id)


def test_create_from_longtext_takes_its_score(ws, task):
    lt = ws.longtext.render(task.take_ids[0], "第一句话。第二句话。", FakeEngine())
    ws.longtext.score(lt.id, 5, remark="长文稳定")
    p = ws.products.create_from_longtext(lt.id, "长文")
    assert (p.score, p.remark, p.source_longtext_id) == (5, "长文稳定", lt.id)
    assert p.params.seed == 42


def test_zip_pack_is_readable_by_both_formats(ws, role, task, tmp_path):
    take = ws.takes.get(task.take_ids[0])
    ws.clips.update(take.clip_id, text='他说："别走！"\n然后|离开了。', name="CON.wav")
    # A product made from the edited clip carries the awkward transcript.
    p = ws.products.create(role, "温柔: 夜?", clip=take.clip_id, params=take.params,
                           gpt=take.gpt_id, sovits=take.sovits_id, engine_kind="fake",
                           remark='quote " and \\ backslash')
    aux_clip = ws.clips.get(task.clips[1].id)
    aux = ws.aux.add_from_clips([aux_clip.id])[0]
    ws.products.update(p.id, aux=[aux.id])
    out = ws.products.export([p.id], tmp_path / "packs" / "out.zip")
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        assert all(windows_safe(n) for n in names), names
        folder = names[0].split("/")[0]
        cfg = json.loads(z.read(f"{folder}/infer_config.json").decode("utf-8"))
        ref = cfg["product_list"][0]
        # RefAudioSelectorV2's product pack, with sample_steps and if_sr restored.
        assert cfg["gpt_path"] == "v2ProPlus/voice-e15.ckpt"
        assert cfg["sovits_path"] == "v2ProPlus/voice_e8_s96.pth"
        assert ref["content"] == '他说："别走！"\n然后|离开了。'
        assert (ref["top_k"], ref["sample_steps"], ref["if_sr"], ref["seed"]) == (12, 16, True, 42)
        assert ref["text_delimiter"] == RAS_DEFAULT_DELIMITER and ref["default_selected"]
        assert ref["remark"] == 'quote " and \\ backslash'
        assert f"{folder}/{ref['audio_path']}" in names
        assert not ref["audio_path"].startswith("refer_audio/他说")  # not named by transcript
        assert ref["inp_refs"][0]["audio_path"].startswith("inp_refs/")
        assert f"{folder}/{ref['inp_refs'][0]['audio_path']}" in names
        # GSVI's character card.
        card = cfg["emotion_list"]
        assert set(card) == {"default", "温柔: 夜?"}
        assert card["default"]["ref_wav_path"] == ref["audio_path"]
        assert card["default"]["prompt_language"] == "zh"
        # The api_v2 body, with paths relative to the folder.
        assert ref["request"]["ref_audio_path"] == ref["audio_path"]
        assert ref["request"]["aux_ref_audio_paths"] == [ref["inp_refs"][0]["audio_path"]]
        # Model folder present (empty) when models are not included.
        assert f"{folder}/v2ProPlus/" in names
        assert not any(n.endswith((".ckpt", ".pth")) for n in names)
        # The .list of the chosen clips.
        listing = z.read(f"{folder}/refer_audio.list").decode("utf-8")
        prov = json.loads(z.read(f"{folder}/provenance.json"))
    assert listing.count("\n") == 1 and "｜" in listing
    lst = tmp_path / "chosen.list"
    lst.write_text(listing, encoding="utf-8")
    parsed = parse_list(lst)
    assert len(parsed.entries) == 1 and parsed.entries[0].lang.lower() == "zh"
    assert prov["products"][0]["seed"] == 42
    sovits_sha = ws.sql("SELECT sha256 FROM models WHERE kind = 'sovits'").sha256[0]
    assert prov["products"][0]["preset"]["sovits"]["sha256"] == sovits_sha
    assert prov["products"][0]["preset"]["clip"]["sha256"] == take.clip_sha256


def test_models_merge_and_missing_files(ws, role, task, tmp_path):
    a = ws.products.create_from_take(task.take_ids[0], "a")
    b = ws.products.create_from_take(task.take_ids[1], "b")
    merged = ws.products.export([a.id, b.id], tmp_path / "m.zip", merge=True,
                                include_models=True)
    with zipfile.ZipFile(merged) as z:
        folders = {n.split("/")[0] for n in z.namelist()}
        assert len(folders) == 1
        folder = folders.pop()
        cfg = json.loads(z.read(f"{folder}/infer_config.json"))
        assert [p["name"] for p in cfg["product_list"]] == ["a", "b"]
        assert [p["default_selected"] for p in cfg["product_list"]] == [True, False]
        assert set(cfg["emotion_list"]) == {"default", "a", "b"}
        assert z.read(f"{folder}/v2ProPlus/voice-e15.ckpt") == (tmp_path / "voice-e15.ckpt").read_bytes()
        refs = [n for n in z.namelist() if "/refer_audio/" in n]
        assert len(refs) == 2 and len({n.lower() for n in refs}) == 2
    separate = ws.products.export([a.id, b.id], tmp_path / "s.zip")
    with zipfile.ZipFile(separate) as z:
        assert len({n.split("/")[0] for n in z.namelist()}) == 2
    (tmp_path / "voice-e15.ckpt").unlink()
    with pytest.raises(rasv.ModelNotFound, match="missing"):
        ws.products.export([a.id], tmp_path / "x.zip", include_models=True)
    assert not (tmp_path / "x.zip").exists()
    assert not list(tmp_path.glob(".tmp-*"))
    with pytest.raises(rasv.InvalidInput, match=".zip"):
        ws.products.export([a.id], tmp_path / "x.tar")
    with pytest.raises(rasv.InvalidInput, match="at least one"):
        ws.products.export([], tmp_path / "y.zip")


def test_a_gpt_slot_takes_only_a_gpt_checkpoint(ws, role, task, tmp_path):
    g = add_model(ws, tmp_path, "gpt", "ann-e10.ckpt")
    s = add_model(ws, tmp_path, "sovits", "ann_e8_s96.pth")
    with pytest.raises(rasv.InvalidInput, match="is a sovits checkpoint, not a gpt one"):
        ws.products.create(role, "swapped", clip=task.clips[0].id, gpt=s, sovits=g)
    p = ws.products.create(role, "right", clip=task.clips[0].id, gpt=g, sovits=s)
    with pytest.raises(rasv.InvalidInput, match="not a sovits one"):
        ws.products.update(p.id, sovits=g)
    assert ws.products.get(p.id).sovits_id == s
