"""Tools, response format, images and the tool-call conversation, added to the Playground page.

The page calls in at five places (its hooks): building (`install`), building a request (`apply`), the
call itself (`call` / `on_piece`), a finished call (`on_finished`) and "Open in Playground" (`load_record`).
Everything else — the widgets, the tool turns of the conversation, Continue — lives here.
"""
from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import QBoxLayout, QGroupBox, QTabWidget

from monitor.record import Record
from monitor.templates import escape

from .. import workers
from ..requests.replay import playground_payload
from .attachments import AttachmentsBar, decode_data_url, images_of, with_images
from .pending_tools import PendingToolsPanel
from .response_format import ResponseFormatEditor, format_json_reply
from .tool_calls import (ToolCallAssembler, ToolCallDelta, ToolCallsOutcome, assistant_message, chat_call_with_tools, chat_messages,
                         chat_response_format, chat_tool_choice, chat_tools, describe_calls, split_conversation,
                         stored_messages)
from .tools_editor import ToolsEditor

SETTINGS_KEY = "playground/tools"


class PlaygroundTools:
    def __init__(self, page: Any):
        self.page = page
        self.turns: list[dict] = []            # tool turns sent after the typed messages
        self.parallel_tool_calls: bool | None = None
        self._text: list[str] = []
        self._calls = ToolCallAssembler()          # the streaming reply's tool calls so far
        self.tools_editor = ToolsEditor()
        self.format_editor = ResponseFormatEditor()
        self.attachments = AttachmentsBar()
        self.pending = PendingToolsPanel()
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(self.tools_editor, "Tools")
        self.side_tabs.addTab(self.format_editor, "Format")
        self._tab_tips = {self.tools_editor: "Function tools the model may call, and tool_choice",
                          self.format_editor: "response_format: text, any JSON object, or JSON matching a schema"}
        for widget, tip in self._tab_tips.items():
            self.side_tabs.setTabToolTip(self.side_tabs.indexOf(widget), tip)
        self._attributes_tab = None
        self._restore()
        self.tools_editor.changed.connect(self._on_edited)
        self.format_editor.changed.connect(self._on_edited)
        self.attachments.failed.connect(lambda text: page._set_banner("error", text))
        self.pending.continueRequested.connect(self.continue_run)
        self.pending.startOverRequested.connect(self.start_over)

    # -- hook: building the page ------------------------------------------------------------------------
    def install(self, messages_layout: QBoxLayout, output_layout: QBoxLayout, side_layout: QBoxLayout) -> None:
        """Images under the messages, pending calls under the output; in the side column the Attributes
        box becomes a tab beside Tools and Response format (the column has no height to spare)."""
        messages_layout.addWidget(self.attachments)
        output_layout.addWidget(self.pending)
        attributes_box = self.page.attributes.parentWidget()
        if isinstance(attributes_box, QGroupBox) and side_layout.indexOf(attributes_box) >= 0:
            side_layout.removeWidget(attributes_box)
            attributes_box.setTitle("")
            attributes_box.setFlat(True)
            self.side_tabs.insertTab(0, attributes_box, "Attributes")
            self._attributes_tab = attributes_box
            self.page.attributes.changed.connect(self._show_counts)
        side_layout.addWidget(self.side_tabs, 3)
        self.side_tabs.setCurrentWidget(self.tools_editor if self.tools_editor.rows else self.side_tabs.widget(0))
        self.page.compare_button.toggled.connect(self._on_compare_toggled)
        self._on_edited()

    def _on_compare_toggled(self, comparing: bool) -> None:
        """Compare columns send plain chat calls: tools, format and images apply to single runs only."""
        note = "Compare sends plain chat calls: tools, format and images apply to single runs" if comparing else ""
        for widget in (self.tools_editor, self.format_editor):
            index = self.side_tabs.indexOf(widget)
            self.side_tabs.setTabEnabled(index, not comparing)
            self.side_tabs.setTabToolTip(index, note or self._tab_tips[widget])
        self.attachments.setEnabled(not comparing)
        self.attachments.setToolTip(note)
        if comparing and self._attributes_tab is not None:
            self.side_tabs.setCurrentWidget(self._attributes_tab)

    # -- hook: building the request ---------------------------------------------------------------------
    def apply(self, request: dict) -> None:
        """Adds the tools, tool_choice, response format, images and earlier tool turns to `request`;
        ValueError (one line) when a tool or the schema is wrong."""
        tools = self.tools_editor.tools()
        fmt = self.format_editor.response_format()
        messages = with_images(request["messages"], self.attachments.data_urls())
        request["messages"] = messages + json.loads(json.dumps(self.turns))
        if tools:
            request["tools"] = tools
            if (choice := self.tools_editor.tool_choice()) is not None:
                request["tool_choice"] = choice
            if self.parallel_tool_calls is not None:
                request["parallel_tool_calls"] = self.parallel_tool_calls
        if fmt is not None:
            request["response_format"] = fmt
        self.pending.show_state(None, self.turns)

    @staticmethod
    def stored_messages(messages: list[dict]) -> list[dict]:
        return stored_messages(messages)

    # -- hook: the call -----------------------------------------------------------------------------------
    def call(self, get_client: Any, request: dict, handle: workers.CallHandle):
        self._text, self._calls = [], ToolCallAssembler()
        return chat_call_with_tools(get_client, request, handle)

    def on_piece(self, piece: Any) -> None:
        """Text goes to the output as it comes; tool-call deltas are assembled and shown under it."""
        if isinstance(piece, ToolCallDelta):
            self._calls.add(piece)
            self.page._on_piece("")              # (the page's "Streaming…" banner)
            self._show_output(pretty=False)
        elif piece:
            self._text.append(piece)
            if self._calls:
                self._show_output(pretty=False)
            else:
                self.page._on_piece(piece)

    def _show_output(self, pretty: bool, calls: list[dict] | None = None) -> None:
        calls = calls if calls is not None else self._calls.calls()
        text = "".join(self._text)
        shown = describe_calls(calls) if pretty else "\n\n".join(
            f"Tool call: {c['function']['name'] or '…'}\n{c['function']['arguments']}" for c in calls)
        self.page.output.setPlainText(f"{text}\n\n{shown}" if text else shown)

    # -- hook: a finished call ----------------------------------------------------------------------------
    def on_finished(self, outcome: workers.CallOutcome) -> None:
        calls = outcome.tool_calls if isinstance(outcome, ToolCallsOutcome) else []
        if outcome.status == "success" and calls:
            self._text = [outcome.output]
            self._show_output(pretty=True, calls=calls)
            self.pending.show_state(assistant_message(outcome.output, calls), self.turns)
            names = ", ".join(dict.fromkeys(c["function"]["name"] for c in calls))
            self.page._set_banner("info", f"Logged. The model asked for {names}: type the result below and "
                                          "press Continue.")
            return
        self.pending.show_state(None, self.turns)
        if outcome.status == "success" and self.format_editor.wants_json():
            formatted = format_json_reply(outcome.output)
            if formatted is not None:
                self.page.output.setPlainText(formatted)

    # -- Continue and Start over ------------------------------------------------------------------------
    def continue_run(self) -> None:
        if self.page.is_running() or self.pending.pending_message is None:
            return
        results = self.pending.results()
        missing = [call["function"]["name"] for call, text in results if not text.strip()]
        if missing:
            self.page._set_banner("error", f"Type the result of {', '.join(missing)} first (any text or JSON).")
            return
        before = list(self.turns)
        self.turns += [self.pending.pending_message] + [
            {"role": "tool", "tool_call_id": call["id"], "content": text} for call, text in results]
        self.page.run()
        if not self.page.is_running():         # refused (a wrong tool, a missing variable): nothing changed
            self.turns = before

    def start_over(self) -> None:
        self.turns = []
        self.pending.show_state(None, [])

    # -- hook: "Open in Playground" -----------------------------------------------------------------------
    def load_record(self, record: Record) -> None:
        """Restores the tools, tool_choice, response format, images and tool turns of a logged call (the
        page has set its messages, model and parameters); its pending tool calls wait for results."""
        payload = playground_payload(record)
        messages = chat_messages(payload["messages"])
        conv = split_conversation(messages, payload["pending_tool_calls"])
        self.tools_editor.set_tools(chat_tools(payload["tools"]), chat_tool_choice(payload["tool_choice"]))
        self.format_editor.set_response_format(chat_response_format(payload["response_format"]))
        self.parallel_tool_calls = payload["parallel_tool_calls"]
        if self.tools_editor.rows:
            self.side_tabs.setCurrentWidget(self.tools_editor)
        self.turns = conv.turns
        editors = self.page.messages
        if record.api != "chat.completions":
            editors.set_messages([{"role": m.get("role") or "user", "content": escape(_text(m.get("content")))}
                                  for m in conv.head])
        else:
            for editor in list(editors.editors[len(conv.head):]):
                editors.remove_message(editor)     # tool turns are not editable text: shown below the output
        self.attachments.clear()
        last_user = next((m for m in reversed(conv.head) if m.get("role") == "user"), {})
        urls, omitted = images_of(last_user.get("content"))
        for i, url in enumerate(urls, 1):
            self.attachments.add_data_url(url, f"image {i}", decode_data_url(url))
        if omitted:
            self.attachments.set_note(f"{omitted} image{'s were' if omitted > 1 else ' was'} logged without its "
                                      "data: attach it again to send it.")
        self.pending.show_state(conv.pending, self.turns)
        if conv.pending is not None:
            self._text = [_text(conv.pending.get("content"))]
            self._show_output(pretty=True, calls=conv.pending["tool_calls"])
        if record.api != "chat.completions":
            self.page.banner.setText(self.page.banner.text() + " This Responses-API call opens as a Chat "
                                     "Completions conversation: the Playground sends chat calls.")

    # -- persistence (tools and format survive a restart) ---------------------------------------------
    def _show_counts(self) -> None:
        """Tab titles say what each holds, so a hidden tab still shows that it is in use."""
        tabs = self.side_tabs
        n_tools = len(self.tools_editor.rows)
        tabs.setTabText(tabs.indexOf(self.tools_editor), f"Tools ({n_tools})" if n_tools else "Tools")
        kind = self.format_editor.kind.currentData()
        tabs.setTabText(tabs.indexOf(self.format_editor), {"text": "Format", "json_object": "Format: JSON", "json_schema": "Format: schema"}[kind])
        if self._attributes_tab is not None:
            n = len(self.page.attributes.attributes())
            tabs.setTabText(tabs.indexOf(self._attributes_tab), f"Attributes ({n})" if n else "Attributes")

    def _on_edited(self) -> None:
        self._show_counts()
        rows = [{"function": {"name": r.name.text(), "description": r.description.text()},
                 "parameters_text": r.parameters.toPlainText()} for r in self.tools_editor.rows]
        state = {"tools": rows, "choice": self.tools_editor.choice.currentData(),
                 "format": self.format_editor.kind.currentData(), "name": self.format_editor.name.text(),
                 "strict": self.format_editor.strict.isChecked(), "schema": self.format_editor.schema.toPlainText()}
        self.page.ctx.settings.setValue(SETTINGS_KEY, json.dumps(state))

    def _restore(self) -> None:
        try:
            state = json.loads(str(self.page.ctx.settings.value(SETTINGS_KEY) or "{}"))
            for row in state.get("tools") or []:
                self.tools_editor.add_tool({"function": row["function"]}).parameters.setPlainText(row["parameters_text"])
            self.tools_editor.set_choice(state.get("choice"))
            fe = self.format_editor
            fe.kind.setCurrentIndex(max(fe.kind.findData(state.get("format") or "text"), 0))
            fe.name.setText(state.get("name") or fe.name.text())
            fe.strict.setChecked(bool(state.get("strict", True)))
            fe.schema.setPlainText(state.get("schema") or fe.schema.toPlainText())
        except (ValueError, TypeError, KeyError, AttributeError):
            pass                                   # an unreadable state is just forgotten


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict))
    return "" if content is None else str(content)
