"""The Products tab's "Serve" switch: the workbench's products as voices for other apps.

Turned on, it starts :func:`rasv.serving.serve_api` on 127.0.0.1 with the engines of the
Engines tab and shows the URL, the voice names and a curl and a Python (OpenAI client)
example to paste; turned off (or when the workbench closes) it stops the server.

Example:
    >>> import rasv, tempfile, json, urllib.request
    >>> from rasv.testing import FakeEngine
    >>> from widgets.context import Context
    >>> ctx = Context(rasv.open(tempfile.mkdtemp()), lang="en", engines=[FakeEngine()])
    >>> box = ServeSwitch(ctx, port=0)
    >>> box.start().startswith("http://127.0.0.1:")
    True
    >>> json.load(urllib.request.urlopen(box.url + "/health"))["status"]
    'ok'
    >>> box.stop(); box.url is None
    True
"""

from __future__ import annotations

import html
import json
from typing import Any

import ipywidgets as W

from rasv.errors import InvalidInput
from widgets.context import Context, col, row, unobserved

_PRE = ("<pre style='margin:2px 0;white-space:pre-wrap;font-size:12px;"
        "font-family:var(--jp-code-font-family,monospace);"
        "background:var(--jp-layout-color2,#f5f5f5);padding:6px;border-radius:4px;"
        "user-select:all'>{}</pre>")


class ServeSwitch:
    """The switch, its port and what to paste into another app (see the module docstring).

    Args:
        ctx: the workbench context (workspace, engines, language).
        port: the port to offer (0: a free one).
    """

    def __init__(self, ctx: Context, *, port: int = 9881) -> None:
        self.ctx = ctx
        t = ctx.t
        self.server: Any = None
        self.toggle = W.ToggleButton(description=t("serve.switch"), icon="share-alt",
                                     value=False, layout=W.Layout(width="auto"))
        self.port = W.BoundedIntText(value=port, min=0, max=65535, description=t("serve.port"),
                                     style={"description_width": "initial"},
                                     layout=W.Layout(width="150px"))
        self.info = W.HTML("")
        self.toggle.observe(self._on_toggle, "value")
        self.widget = col([row([self.toggle, self.port]), self.info])
        self.widget.add_class("rasv-serve")

    @property
    def url(self) -> str | None:
        """The server's address while it runs."""
        return self.server.url if self.server is not None else None

    def start(self) -> str:
        """Serve the products with the context's engines; returns the URL.

        Raises:
            InvalidInput: no engine is connected (add one in the Engines tab).
        """
        if self.server is None:
            if not self.ctx.engines:
                raise InvalidInput(self.ctx.t("serve.no_engine"))
            from rasv.serving import serve_api  # the HTTP stack only when someone serves

            self.server = serve_api(self.ctx.ws, list(self.ctx.engines), port=self.port.value,
                                    block=False)
        self._set_toggle(True)
        self.paint()
        return self.server.url

    def stop(self) -> None:
        """Stop serving."""
        if self.server is not None:
            server, self.server = self.server, None
            server.stop()
        self._set_toggle(False)
        self.paint()

    def paint(self) -> None:
        """Show the URL, the voices and the examples (or nothing while off)."""
        t = self.ctx.t
        self.port.disabled = self.server is not None
        if self.server is None:
            self.info.value = ""
            return
        url = self.server.url
        voices = [v.voice for v in self.server.service.servable()]
        first = voices[0] if voices else "<role>/<product>"
        body = json.dumps({"model": "tts-1", "voice": first, "input": "今天天气很好。",
                           "response_format": "wav"}, ensure_ascii=False)
        curl = (f"curl {url}/v1/audio/speech -H \"Content-Type: application/json\" \\\n"
                f"     -d '{body}' -o out.wav")
        py = ("from openai import OpenAI\n"
              f"client = OpenAI(base_url=\"{url}/v1\", api_key=\"unused\")\n"
              f"client.audio.speech.create(model=\"tts-1\", voice=\"{first}\",\n"
              "    input=\"今天天气很好。\", response_format=\"wav\").write_to_file(\"out.wav\")")
        shown = ", ".join(html.escape(v) for v in voices[:30]) or html.escape(t("serve.none"))
        self.info.value = (
            f"<div>{html.escape(t('serve.running', url=url, n=len(voices)))}</div>"
            f"<div><b>{html.escape(t('serve.voices'))}</b> {shown}</div>"
            f"<div><b>curl</b></div>" + _PRE.format(html.escape(curl))
            + "<div><b>Python</b></div>" + _PRE.format(html.escape(py)))

    def _set_toggle(self, on: bool) -> None:
        with unobserved(self.toggle, self._on_toggle):
            self.toggle.value = on
            self.toggle.description = self.ctx.t("serve.stop" if on else "serve.switch")

    def _on_toggle(self, change: dict) -> None:
        if change["new"]:
            if self.ctx.run(self.start) is None:
                self._set_toggle(False)
        else:
            self.ctx.guard(self.stop)()

    def close(self) -> None:
        """Stop serving (the workbench is closing)."""
        self.stop()


__all__ = ["ServeSwitch"]
