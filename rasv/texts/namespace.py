"""The text library shared by all roles: test sentences and long texts.

A new workspace starts with a small starter set written for rasv (questions, exclamations,
numbers, sibilants, mixed Chinese-English, two long texts) so a first comparison task needs no
typing; delete or extend it freely.

Example:
    >>> import rasv, tempfile
    >>> ws = rasv.open(tempfile.mkdtemp())
    >>> t = ws.texts.add("今天下雨了吗？", category="question")
    >>> t.lang, t.long
    ('zh', False)
    >>> len(ws.texts.df(category="question")) >= 1
    True
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rasv.clips.listfile import decode
from rasv.errors import InvalidInput, TextNotFound
from rasv.ids import id_list
from rasv.langs import guess_lang, normalize_lang
from rasv.records import DEFAULT_CATEGORY, TextItem
from rasv.store import Condition, check_editable, one_or_many, update_sql, where_sql

if TYPE_CHECKING:
    from rasv.workspace import Workspace

#: Texts of at least this many characters are marked long when ``long`` is not given.
LONG_CHARS = 120

_COLS = "id, category, lang, content, long, source"

#: The filters of :meth:`Texts.df`.
_FILTERS: dict[str, Condition] = {
    "category": ("list_contains($category, category)", one_or_many),
    "lang": ("list_contains($lang, lang)", lambda v: [normalize_lang(x) for x in one_or_many(v)]),
    "long": ("long = $long", bool),
    "contains": ("content ILIKE '%' || $contains || '%'", str),
    "ids": ("list_contains($ids, id)", lambda v: [int(i) for i in v]),
}

# (category, lang, content). Written for rasv; short sentences probe one difficulty each.
STARTER_TEXTS: list[tuple[str, str, str]] = [
    ("日常", "zh", "早上好，今天的天气真不错，我们一起去公园走走吧。"),
    ("疑问", "zh", "你昨天晚上几点回的家？为什么没有给我打电话？"),
    ("感叹", "zh", "哇，这也太好看了吧！我从来没见过这么漂亮的烟花！"),
    ("数字", "zh", "会议定在二〇二六年三月十五日下午两点半，地点是三号楼四〇八室。"),
    ("绕口令", "zh", "四是四，十是十，十四是十四，四十是四十，谁说四十是细席，他的舌头没伸直。"),
    ("中英混合", "zh", "这个 bug 我已经修好了，你 pull 一下最新的 code 再试试。"),
    ("情绪", "zh", "对不起，是我不好……我真的不是故意的，你能原谅我吗？"),
    ("daily", "en", "Good morning! I hope you slept well, because today is going to be a long day."),
    ("question", "en", "Have you ever wondered why the sky turns orange just before the sun goes down?"),
    ("numbers", "en", "Flight 2731 leaves at 6:45 a.m. from gate 19, and boarding closes at 6:15."),
    ("sibilants", "en", "She sells sixty silky scarves, so surely she sees six sailors sitting by the sea."),
    ("日常", "ja", "おはようございます。今日はとてもいい天気ですね。"),
    ("疑問", "ja", "すみません、駅までの道を教えていただけませんか？"),
    ("感嘆", "ja", "わあ、すごい！こんなにきれいな景色は初めて見ました！"),
    ("长文本", "zh", (
        "清晨的雾气还没有散去，小镇的石板路上已经响起了自行车的铃声。卖豆浆的老人把炉火烧得很旺，"
        "锅里的热气一阵一阵地往上冒，整条街都飘着淡淡的豆香。\n"
        "学生们背着书包从巷子里跑出来，一边走一边讨论昨天的数学作业，有人说第三题的答案是十二，"
        "也有人坚持是十五。街角的书店刚刚开门，店主把新到的杂志一本一本地摆上架子，顺手擦了擦窗台上的灰。\n"
        "太阳慢慢升起来，雾气终于散了。远处的山露出清楚的轮廓，河面上闪着细碎的光。"
        "这是一个普通的早晨，可是对于每一个认真生活的人来说，它都值得被好好记住。"
    )),
    ("long text", "en", (
        "The lighthouse keeper had lived on the island for eleven years, and in all that time he had "
        "never once missed lighting the lamp. Every evening he climbed the ninety-two steps, checked "
        "the oil, wiped the great lens, and waited for the sun to touch the water.\n"
        "Ships passed in the distance, some bound for the northern ports, others heading south with "
        "cargo he could only imagine. He kept a notebook of their names, their colours, and the "
        "weather on the day they went by.\n"
        "When the new automatic light was finally installed, people asked him whether he would miss "
        "the work. He smiled and said that a light is easy to keep; it is the watching that takes a "
        "lifetime to learn."
    )),
]


def _item(row: tuple) -> TextItem:
    return TextItem(*row)


class Texts:
    """``ws.texts``: the shared text library."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def add(self, content: str, lang: str | None = None, category: str = DEFAULT_CATEGORY,
            long: bool | None = None) -> TextItem:
        """Add a sentence or a long text; the same text in the same language is kept once.

        Args:
            content: the text.
            lang: its API language code; guessed from the script when omitted.
            category: a free label for grouping (e.g. ``question``, ``数字``).
            long: a long text for long-text tests; defaults to True for 120+ characters.

        Returns the new item, or the existing one when the library already has this text in
        this language (so adding a text file twice does not double the library).

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> t = ws.texts.add("Hello there.")
            >>> t.lang, ws.texts.add("Hello there.").id == t.id
            ('en', True)
        """
        text = _clean(content)
        code = normalize_lang(lang) if lang else guess_lang(text)
        is_long = len(text) >= LONG_CHARS if long is None else bool(long)
        with self._ws.store.transaction() as cur:
            same = cur.execute(
                f"SELECT {_COLS} FROM texts WHERE content = ? AND lang = ? ORDER BY id LIMIT 1",
                [text, code]).fetchall()
            if same:
                return _item(same[0])
            row = cur.execute(
                f"INSERT INTO texts(category, lang, content, long) VALUES (?, ?, ?, ?) "
                f"RETURNING {_COLS}",
                [_cat(category), code, text, is_long],
            ).fetchall()
        return _item(row[0])

    def add_many(self, contents: Iterable[str], lang: str | None = None,
                 category: str = DEFAULT_CATEGORY, long: bool | None = None) -> list[TextItem]:
        """Add several texts in one transaction.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> [t.lang for t in ws.texts.add_many(["你好。", "Hi."])]
            ['zh', 'en']
        """
        items = [c for c in contents if str(c).strip()]
        with self._ws.store.transaction():
            return [self.add(c, lang=lang, category=category, long=long) for c in items]

    def add_file(self, path: str | os.PathLike, lang: str | None = None,
                 category: str = DEFAULT_CATEGORY, long: bool = False) -> list[TextItem]:
        """Bulk-add from a text file: one text per line, or the whole file as one long text.

        The file may be UTF-8 (with or without BOM), UTF-16 or GBK/GB18030.

        Example:
            >>> import rasv, tempfile, os
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> p = os.path.join(ws.root, "t.txt")
            >>> _ = open(p, "w", encoding="utf-8").write("第一句。\\n\\n第二句。\\n")
            >>> len(ws.texts.add_file(p, category="file"))
            2
        """
        p = Path(path)
        try:
            raw = p.read_bytes()
        except OSError as e:
            raise InvalidInput(f"cannot read {p}: {e.strerror or e}") from None
        try:
            text, _ = decode(raw)
        except InvalidInput as e:
            raise InvalidInput(f"{p}: {e}") from None
        if long:
            return [self.add(text, lang=lang, category=category, long=True)] if text.strip() else []
        return self.add_many(text.splitlines(), lang=lang, category=category, long=False)

    def get(self, text_id: int) -> TextItem:
        """One text by id.

        Raises:
            TextNotFound: no such text.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> t = ws.texts.add("Nice to meet you.", category="greeting")
            >>> ws.texts.get(t.id).lang, ws.texts.get(t.id).category
            ('en', 'greeting')
        """
        return _item(self._ws.store.one_or_raise(
            f"SELECT {_COLS} FROM texts WHERE id = ?", [int(text_id)], TextNotFound(text_id)))

    def df(self, *, category: str | Iterable[str] | None = None,
           lang: str | Iterable[str] | None = None, long: bool | None = None,
           contains: str | None = None, ids: Iterable[int] | None = None) -> pd.DataFrame:
        """The library as a DataFrame (id, category, lang, content, long, source, n_chars).

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> ws.texts.df(long=True).lang.tolist()
            ['zh', 'en']
        """
        where, params = where_sql(_FILTERS, {"category": category, "lang": lang, "long": long,
                                             "contains": contains or None, "ids": ids})
        return self._ws.store.df(
            f"SELECT {_COLS}, length(content) AS n_chars FROM texts WHERE {where} ORDER BY id",
            params,
        )

    def categories(self) -> list[str]:
        """The categories in use, sorted.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> "daily" in ws.texts.categories()   # the starter set's
            True
        """
        return [r[0] for r in self._ws.store.rows(
            "SELECT DISTINCT category FROM texts ORDER BY category")]

    def update(self, text_id: int, **fields: Any) -> TextItem:
        """Change content, lang, category or the long flag.

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> t = ws.texts.add("a")
            >>> ws.texts.update(t.id, content="b", category="x").content
            'b'
        """
        editable = {"content": _clean, "lang": normalize_lang, "category": _cat, "long": bool}
        check_editable(fields, editable)
        self.get(text_id)
        values = {k: editable[k](v) for k, v in fields.items()}
        if values:
            self._ws.store.rows(*update_sql("texts", values, text_id))
        return self.get(text_id)

    def delete(self, text_ids: int | Iterable[int]) -> int:
        """Delete texts (tasks keep their own copy of the texts they used).

        Example:
            >>> import rasv, tempfile
            >>> ws = rasv.open(tempfile.mkdtemp())
            >>> ws.texts.delete(ws.texts.add("x").id)
            1
        """
        ids = id_list(text_ids, "text id")
        with self._ws.store.transaction() as cur:  # all or nothing: a bad id deletes none
            rows = cur.execute(
                "DELETE FROM texts WHERE list_contains(?, id) RETURNING id", [ids]).fetchall()
            missing = set(ids) - {r[0] for r in rows}
            if missing:
                raise TextNotFound(min(missing))
        return len(rows)


def _clean(content: Any) -> str:
    text = str(content if content is not None else "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise InvalidInput("a text cannot be empty")
    return text


def _cat(category: Any) -> str:
    name = str(category if category is not None else "").strip()
    return name or DEFAULT_CATEGORY


def seed_starter_texts(cur: Any) -> None:
    """Migration step: insert :data:`STARTER_TEXTS` (marked ``source='starter'``)."""
    for category, lang, content in STARTER_TEXTS:
        cur.execute(
            "INSERT INTO texts(category, lang, content, long, source) VALUES (?, ?, ?, ?, 'starter')",
            [category, lang, content, len(content) >= LONG_CHARS],
        )


__all__ = ["LONG_CHARS", "STARTER_TEXTS", "Texts", "seed_starter_texts"]
