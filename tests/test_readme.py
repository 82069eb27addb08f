"""The README's code runs as written: every Python block and every CLI line of README.md.

The README names things only a user has: their ``slicer_opt.list`` and clips, a GPT-SoVITS
folder, ``api_v2`` servers on 127.0.0.1:9880/9881, a task spec and a take id. Each test builds
those in a sandbox (generated clips, :func:`rasv.testing.make_gsv_root` with fake checkpoints,
:class:`rasv.testing.FakeGsvServer` on free ports) and swaps the README's values for the
sandbox's through :meth:`Sandbox.apply`, the only place where the README text is changed.

A block that cannot run here (it installs packages, runs the suite, needs a GPU) carries the
HTML comment ``<!-- readme-test: skip (why) -->`` on the line before its fence; the reason is
required and the skips are counted, so a new README section is either run or visibly excused.
Servers the README starts (``rasv serve``) run until they answer HTTP, then are stopped.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import rasv
from rasv.testing import FakeGsvServer, make_checkpoint, make_clip, make_gsv_root, write_list

README = Path(__file__).resolve().parent.parent / "README.md"
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\s*\((?P<why>[^)]+)\)\s*-->")
FENCE = re.compile(r"^```(?P<lang>\w*)\s*$")
# Commands that serve until stopped: run until they print their URL and it answers.
SERVING = ("rasv serve", "rasv demo")
# The README's take id placeholder (rasv save-product TAKE): replaced by a real take's prefix.
TAKE_PLACEHOLDER = "3f2a9c"
# Fences whose content is code to run; others (yaml, json, text …) are data shown to readers.
SHELLS = ("bash", "sh", "shell", "console")


@dataclass(frozen=True)
class Block:
    """One fenced code block of the README."""

    lang: str
    line: int  # 1-based line of the opening fence
    code: str
    skip: str | None  # the reason of a readme-test skip marker, if any

    @property
    def label(self) -> str:
        return f"{self.lang}@L{self.line}"


def blocks(text: str) -> list[Block]:
    """Every fenced block of ``text``, with the skip reason of the marker just above it."""
    out: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or not m.group("lang"):
            i += 1
            continue
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        above = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
        skip = SKIP.search(above)
        out.append(Block(m.group("lang"), start + 1, "\n".join(body) + "\n",
                         skip.group("why").strip() if skip else None))
        i += 1
    return out


def cli_lines(code: str) -> list[str]:
    """The commands of a bash block: one per line, trailing ``# comments`` dropped."""
    out = []
    for raw in code.splitlines():
        line = re.sub(r"\s+#\s.*$", "", raw).strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


ALL = [b for b in blocks(README.read_text(encoding="utf-8")) if b.lang in ("python", *SHELLS)]
RUN = [b for b in ALL if b.skip is None]


# ---------------------------------------------------------------- the user's own things


@dataclass
class Sandbox:
    """A folder with what the README assumes a user has, and the values that stand in."""

    root: Path
    stand_ins: dict[str, str]

    def apply(self, code: str) -> str:
        """``code`` with the README's user-specific values replaced by the sandbox's."""
        for old, new in self.stand_ins.items():
            code = code.replace(old, new)
        return code


def make_user_files(root: Path) -> dict[str, str]:
    """Clips behind a Windows-path ``slicer_opt.list``, a GPT-SoVITS folder, a task spec."""
    gsv = make_gsv_root(root / "gsv")
    slicer = gsv / "output" / "slicer_opt"
    rows = []
    for i in range(8):  # two voices, 4-6 s: the 3-10 s reference rule holds
        f0 = 110.0 if i % 2 else 210.0
        make_clip(slicer / f"zs_{i:02d}.wav", 4.0 + (i % 3) * 0.8, f0=f0 + i, seed=i)
        rows.append((f"D:/GPT-SoVITS/output/slicer_opt/zs_{i:02d}.wav", "张三", "ZH",
                     f"第{i}句参考文本。"))
    rows.append(("D:/GPT-SoVITS/output/slicer_opt/missing.wav", "张三", "ZH", "不存在。"))
    write_list(root / "slicer_opt.list", rows)
    make_checkpoint(gsv / "GPT_weights_v2" / "张三-e10.ckpt")
    make_checkpoint(gsv / "SoVITS_weights_v2" / "张三_e8_s96.pth")
    gpt = gsv / "GPT_weights_v2" / "张三-e10.ckpt"
    sovits = gsv / "SoVITS_weights_v2" / "张三_e8_s96.pth"
    (root / "spec.yaml").write_text(  # the user's own spec (docs/comparisons.md)
        f"name: which clip\ntexts: [今天天气真好。, Hello there.]\nclips: [1, 2]\n"
        f"seeds: [1, 2]\ngpt: '{gpt}'\nsovits: '{sovits}'\n", encoding="utf-8")
    return {"D:/GPT-SoVITS/": "D:/GPT-SoVITS/",  # the list's own prefix stays
            "/content/GPT-SoVITS/": f"{gsv}/", "/content/GPT-SoVITS": str(gsv),
            "/data/gsv/": f"{gsv}/", "/data/gsv": str(gsv)}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """Two fake api_v2 servers standing in for the README's 9880 and 9881."""
    with FakeGsvServer(latency_s=0.0) as a, FakeGsvServer(latency_s=0.0) as b:
        yield {"http://127.0.0.1:9880": a.url, "http://127.0.0.1:9881": b.url}


@pytest.fixture
def sandbox(tmp_path, servers, monkeypatch) -> Sandbox:
    """A fresh sandbox as the current folder."""
    monkeypatch.chdir(tmp_path)
    return Sandbox(tmp_path, {**make_user_files(tmp_path), **servers})


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # The `rasv` script of this interpreter, and this checkout's package first.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    root = str(README.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["BROWSER"] = "true"  # webbrowser.open runs `true URL`: no browser tab in a test
    env.pop("RASV_WORKSPACE", None)
    return env


def _first_take(folder: Path) -> Callable[[], str]:
    def find() -> str:
        with rasv.open(folder / "voices") as ws:
            return ws.sql("SELECT id FROM takes WHERE status = 'done' ORDER BY id LIMIT 1").id[0][:12]
    return find


def _serve(line: str, cwd: Path, env: dict[str, str]) -> None:
    """Start a serving command, wait until its URL answers, stop it."""
    proc = subprocess.Popen(["bash", "-c", f"exec {line}"], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 120
        url = None
        while url is None and time.monotonic() < deadline:
            out = proc.stdout.readline() if proc.stdout else ""
            if not out and proc.poll() is not None:
                break
            seen.append(out)
            found = re.search(r"https?://127\.0\.0\.1:\d+\S*", out)
            url = found.group(0) if found else None
        assert url, f"`{line}` printed no URL:\n{''.join(seen)}"
        while True:
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    assert r.status == 200
                    return
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# ---------------------------------------------------------------- the tests


def test_readme_blocks_are_run_or_excused() -> None:
    skipped = [b for b in ALL if b.skip is not None]
    for b in skipped:
        assert len(b.skip) >= 8, f"{b.label}: say why the block is skipped"
    assert any(b.lang == "python" for b in RUN) and any(b.lang in SHELLS for b in RUN)
    print(f"README: {len(RUN)} blocks run, {len(skipped)} skipped:",
          "; ".join(f"{b.label} ({b.skip})" for b in skipped))


def test_stand_ins_name_what_the_readme_says(tmp_path) -> None:
    text = README.read_text(encoding="utf-8")
    for old in [*make_user_files(tmp_path), "http://127.0.0.1:9880", "http://127.0.0.1:9881"]:
        assert old in text, f"the README no longer mentions {old!r}: drop it from the stand-ins"


def test_readme_python_blocks_run(sandbox: Sandbox) -> None:
    """All Python blocks, in order, in one namespace (later blocks use earlier names)."""
    namespace: dict[str, object] = {"__name__": "__readme__"}
    for b in (b for b in RUN if b.lang == "python"):
        code = compile(sandbox.apply(b.code), f"README.md:{b.line}", "exec")
        try:
            exec(code, namespace)
        finally:
            run = namespace.get("run")
            if run is not None and hasattr(run, "wait"):
                run.wait()
    ws = namespace["ws"]
    assert ws.takes.df(namespace["task"]).status.eq("done").all()  # type: ignore[attr-defined]
    assert (sandbox.root / "zhangsan.zip").stat().st_size > 0  # the library block's export


def _rasv(argv: list[str], cwd: Path) -> tuple[int, str]:
    """Run one ``rasv`` command in this process (a new interpreter per line costs seconds)."""
    from click.testing import CliRunner

    from rasv.cli import main

    result = CliRunner().invoke(main, argv, env={"RASV_WORKSPACE": None}, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _run_line(line: str, cwd: Path, env: dict[str, str], first: bool) -> None:
    """One README command line: ``a && b`` in order, ``> file`` written; rasv in-process.

    The block's first line goes through the installed ``rasv`` script and a shell, so the
    entry point itself is tried once per block.
    """
    if first or not all(p.strip().startswith("rasv ") for p in line.split("&&")):
        done = subprocess.run(["bash", "-c", line], cwd=cwd, env=env, text=True,
                              capture_output=True, timeout=300)
        assert done.returncode == 0, f"`{line}` failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        return
    for part in line.split("&&"):
        argv = shlex.split(part)
        target = None
        if ">" in argv:
            at = argv.index(">")
            argv, target = argv[:at], argv[at + 1]
        code, out = _rasv(argv[1:], cwd)
        assert code == 0, f"`{part.strip()}` exited {code}:\n{out[-3000:]}"
        if target:
            (cwd / target).write_text(out, encoding="utf-8")


@pytest.mark.parametrize("block", [b for b in RUN if b.lang in SHELLS], ids=lambda b: b.label)
def test_readme_cli_lines_run(block: Block, sandbox: Sandbox) -> None:
    env = _env()
    find_take = _first_take(sandbox.root)
    for i, line in enumerate(cli_lines(block.code)):
        line = sandbox.apply(line)
        if TAKE_PLACEHOLDER in line:
            line = line.replace(TAKE_PLACEHOLDER, find_take())
        t0 = time.monotonic()
        if line.startswith(SERVING):
            _serve(line, sandbox.root, env)
        else:
            _run_line(line, sandbox.root, env, first=i == 0)
        print(f"{time.monotonic() - t0:6.1f} s  {line[:70]}")
    if "zhangsan.zip" in block.code:
        assert (sandbox.root / "zhangsan.zip").stat().st_size > 0
