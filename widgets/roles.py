"""The role picker in the workbench header: switch to a role, or type a new one to create it.

Like RefAudioSelectorV2's header selector, typing ``category-name`` (``男性-张三``) that does
not exist yet offers to create it. The last role used is remembered in the workspace, so the
dashboard reopens where the user left off.

Example:
    >>> import rasv, tempfile
    >>> from widgets.context import Context
    >>> ctx = Context(rasv.open(tempfile.mkdtemp()), lang="en")
    >>> picker = RolePicker(ctx)
    >>> picker.choose("女性-小红").label
    '女性-小红'
    >>> picker.labels(), ctx.role.name
    (['女性-小红'], '小红')
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W

from rasv.errors import NotFound
from rasv.records import Role
from widgets.context import Context, Panel, row

#: Workspace setting that remembers the last role shown.
LAST_ROLE_SETTING = "ui.role"


class RolePicker(Panel):
    """Controller and view of the role picker (``widget`` is an HBox)."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        t = self.t
        self.combo = W.Combobox(
            placeholder=t("role.placeholder"), ensure_option=False,
            layout=W.Layout(width="260px"),
        )
        self.button = W.Button(description=t("role.switch"), layout=W.Layout(width="auto"))
        self.summary = W.HTML("")
        self.combo.observe(self._on_typing, "value")
        self.button.on_click(ctx.guard(lambda _b: self.choose(self.combo.value)))
        label = W.HTML(f"<b>{t('role.label')}</b>")
        self.widget = row([label, self.combo, self.button, self.summary])
        self.widget.add_class("rasv-rolepicker")
        ctx.observe(self._on_role, "role")
        self.reload()

    # -- controller ----------------------------------------------------------------------

    def labels(self) -> list[str]:
        """Every role's ``category-name`` label, sorted."""
        return [str(x) for x in self.ws.roles.list()["label"].tolist()]

    def reload(self) -> None:
        """Refresh the options and restore the remembered role (or the only one)."""
        labels = self.labels()
        self.combo.options = labels
        if self.ctx.role is None:
            remembered = self.ws.get_setting(LAST_ROLE_SETTING)
            role = self._find(remembered) if remembered else None
            if role is None and labels:
                role = self._find(labels[0])
            if role is not None:
                self.ctx.role = role
        if self.ctx.role is None:
            self.summary.value = self.t("role.none")
        else:
            self._paint_summary(self.ctx.role)
        self._on_typing()

    def choose(self, label: str) -> Role:
        """Switch to the role ``label``, creating it when it does not exist.

        Raises:
            InvalidInput: the label has no name.
        """
        text = (label or "").strip()
        role = self._find(text)
        created = role is None
        if role is None:
            role = self.ws.roles.create(text)
            self.combo.options = self.labels()
        self.ctx.role = role
        self.ctx.say(self.t("role.created" if created else "role.switched", label=role.label))
        return role

    def _find(self, label: str) -> Role | None:
        if not label:
            return None
        try:
            return self.ws.roles.get(label)
        except NotFound:
            return None

    # -- view ----------------------------------------------------------------------------

    def _on_typing(self, *_: Any) -> None:
        text = (self.combo.value or "").strip()
        exists = text in self.combo.options
        self.button.description = self.t("role.switch" if exists or not text else "role.create")
        self.button.button_style = "" if exists or not text else "primary"
        self.button.disabled = not text
        if exists and (self.ctx.role is None or text != self.ctx.role.label):
            # Picking from the list switches at once; typing a new name waits for the button.
            self.ctx.guard(self.choose)(text)

    def _on_role(self, change: dict) -> None:
        role: Role | None = change["new"]
        if role is None:
            self.summary.value = self.t("role.none")
            return
        if self.combo.value != role.label:
            self.combo.value = role.label
        self.ws.set_setting(LAST_ROLE_SETTING, role.label)
        self._paint_summary(role)

    def _paint_summary(self, role: Role) -> None:
        """The header counts of ``role`` (clips, usable clips, tasks), read now."""
        roles = self.ws.roles.list().set_index("id")
        if role.id not in roles.index:  # deleted by another process
            self.summary.value = self.t("role.none")
            return
        row = roles.loc[role.id]
        self.summary.value = (
            "<span style='color:var(--jp-ui-font-color2,#666)'>"
            + self.t("role.summary", n_clips=int(row.n_clips), n_valid=int(row.n_valid),
                     n_tasks=int(row.n_tasks))
            + "</span>"
        )


__all__ = ["LAST_ROLE_SETTING", "RolePicker"]
