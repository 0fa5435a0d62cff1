"""Saved prompts in the Playground: load a version, save the next one with a note, see versions and a diff,
and the `prompt` / `prompt_version` attributes on calls logged through the real client against the
simulator (dropped once the prompt is edited) — which a board can then group by."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from desktop.playground import PlaygroundPage
from monitor.boards import MISSING_LABEL, compute_board, template_spec
from monitor.experiments.prompts import PromptLibrary
from monitor.store import Store

try:
    from tests.desktop_helpers import ctx, stored_records  # noqa: F401 - ctx is a fixture
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from desktop_helpers import ctx, stored_records  # noqa: F401

TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]
MESSAGES = [{"role": "system", "content": "You answer in one sentence."},
            {"role": "user", "content": "Explain {topic} to a beginner."}]


def save_directly(ctx, name, messages, note, **kwargs):
    """Put a version in the store the way another app or the Experiments page would."""
    store = Store(ctx.db_path)
    try:
        return PromptLibrary(store).save(name, messages, note=note, now=1_700_000_000.0, **kwargs)
    finally:
        store.close()


@pytest.fixture
def page(qtbot, ctx):
    widget = PlaygroundPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.set_stream("pg-prompts")
    widget.params.stream.setChecked(False)
    yield widget
    if widget.is_running():
        widget.cancel()


def reload_library(qtbot, page, count):
    page.library.refresh()
    qtbot.waitUntil(lambda: page.library.combo.count() == count, timeout=10_000)


def run_and_wait(qtbot, page) -> dict:
    with qtbot.waitSignal(page.callFinished, timeout=15_000) as blocker:
        page.run()
    return blocker.args[0]


def test_loading_a_saved_version_fills_the_playground(qtbot, page, ctx):
    save_directly(ctx, "explainer", MESSAGES, "first", model="gpt-4o", params={"temperature": 0.3,
                                                                                "max_tokens": 120}, tools=TOOLS)
    reload_library(qtbot, page, 1)
    page.library.select("explainer", 1)
    page.library.add_button.click()                               # "Load"
    assert page.library.add_button.text() == "Load"
    assert page.messages.messages() == MESSAGES
    assert page.variables.names() == ["topic"]
    assert page.model_picker.model() == "gpt-4o"
    assert page.params.params() == {"temperature": 0.3, "max_tokens": 120}
    assert page._tools == TOOLS
    assert page.prompt_attributes() == {"prompt": "explainer", "prompt_version": 1}
    assert "unchanged" in page.prompt_label.text()


def test_saving_the_playground_adds_a_version_with_its_note(qtbot, page, ctx):
    page.messages.set_messages(MESSAGES)
    page.model_picker.set_model("gpt-4o-mini")
    with qtbot.waitSignal(page.library.saved, timeout=10_000) as saved:
        page.save_prompt("explainer", "first draft")
    assert (saved.args[0].name, saved.args[0].version) == ("explainer", 1)
    page.messages.editors[0].text.setPlainText("You answer in two sentences.")
    assert page.prompt_attributes() == {}                         # edited: no longer v1
    with qtbot.waitSignal(page.library.saved, timeout=10_000):
        page.save_prompt("explainer", "longer answers")
    qtbot.waitUntil(lambda: page.library.combo.count() == 2, timeout=10_000)
    assert page.prompt_attributes() == {"prompt": "explainer", "prompt_version": 2}
    store = Store(ctx.db_path)
    try:
        versions = PromptLibrary(store).versions("explainer")
    finally:
        store.close()
    assert [(v.version, v.note, v.system, v.user, v.model) for v in versions] == [
        (1, "first draft", "You answer in one sentence.", "Explain {topic} to a beginner.", "gpt-4o-mini"),
        (2, "longer answers", "You answer in two sentences.", "Explain {topic} to a beginner.", "gpt-4o-mini")]


def test_a_bad_save_is_said_and_stores_nothing(qtbot, page, ctx):
    page.messages.set_messages([{"role": "user", "content": "hi"}])
    with qtbot.waitSignal(page.library.failed, timeout=10_000) as failed:
        page.save_prompt("   ", "")
    assert failed.args[0] == "a saved prompt needs a name"
    assert page.banner_kind() == "error"
    reload_library(qtbot, page, 0)


def test_versions_dialog_shows_a_readable_diff(qtbot, page, ctx):
    save_directly(ctx, "explainer", MESSAGES, "first", model="gpt-4o-mini")
    save_directly(ctx, "explainer", [MESSAGES[0], {"role": "user", "content": "Explain {topic} to an expert."}],
                  "for experts", model="gpt-4o")
    save_directly(ctx, "other prompt", MESSAGES, "")
    reload_library(qtbot, page, 3)
    page.library.select("explainer", 2)
    dialog = page.library.show_versions()
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 2                           # only this prompt's versions
    assert dialog.table.item(1, 3).text() == "for experts"
    assert (dialog.old_combo.currentText(), dialog.new_combo.currentText()) == ("v1", "v2")
    shown = dialog.diff_view.toPlainText().splitlines()
    for line in ("-model: gpt-4o-mini", "+model: gpt-4o", "-Explain {topic} to a beginner.",
                 "+Explain {topic} to an expert.", "-note: first", "+note: for experts"):
        assert line in shown
    assert " [system]" in shown and "+[system]" not in shown      # unchanged lines are context
    assert "#e6f4ea" in dialog.diff_view.toHtml().lower()         # added lines are coloured
    dialog.compare(2, 2)
    assert dialog.diff_view.toPlainText() == "No differences."


def test_calls_from_a_saved_prompt_say_which_version_until_edited(qtbot, page, ctx):
    save_directly(ctx, "explainer", MESSAGES, "first", model="gpt-4o-mini", tools=TOOLS)
    reload_library(qtbot, page, 1)
    page.library.add_button.click()
    page.variables.set_value("topic", "rate limits")
    assert page.prompt_attributes()                               # values are not part of the version
    first = run_and_wait(qtbot, page)
    assert first["status"] == "success"
    assert (first["attributes"]["prompt"], first["attributes"]["prompt_version"]) == ("explainer", 1)
    assert first["request"]["tools"] == TOOLS
    page.messages.editors[1].text.setPlainText("Explain {topic} to a child.")
    assert "Edited since explainer v1" in page.prompt_label.text()
    second = run_and_wait(qtbot, page)
    assert "prompt" not in second["attributes"] and "prompt_version" not in second["attributes"]
    records = stored_records(ctx, "pg-prompts")
    assert [(r.attributes.get("prompt"), r.attributes.get("prompt_version")) for r in records] == [
        ("explainer", 1), (None, None)]
    # a board groups the stream's calls by the saved prompt
    store = Store(ctx.db_path)
    try:
        data = compute_board(store, template_spec("pg-prompts").updated(group_by="prompt"),
                             now=records[-1].timestamp + 60)
        by_version = compute_board(store, template_spec("pg-prompts").updated(group_by="prompt_version"),
                                   now=records[-1].timestamp + 60)
    finally:
        store.close()
    assert sorted(data.groups) == sorted(["explainer", MISSING_LABEL])
    assert sorted(by_version.groups) == sorted(["1", MISSING_LABEL])


def test_loading_a_logged_call_does_not_copy_its_prompt_link(qtbot, page, ctx):
    save_directly(ctx, "explainer", MESSAGES, "first", model="gpt-4o-mini")
    reload_library(qtbot, page, 1)
    page.library.add_button.click()
    page.variables.set_value("topic", "caching")
    run_and_wait(qtbot, page)
    record = stored_records(ctx, "pg-prompts")[0]
    page.load_record(record)
    assert "prompt" not in page.attributes.attributes()
    assert page.prompt_attributes() == {} and page.prompt_label.isHidden()


def test_the_link_to_a_saved_prompt_survives_a_restart(qtbot, page, ctx):
    save_directly(ctx, "explainer", MESSAGES, "first", model="gpt-4o-mini", tools=TOOLS)
    reload_library(qtbot, page, 1)
    page.library.add_button.click()
    page.save_state()
    again = PlaygroundPage(ctx)
    qtbot.addWidget(again)
    assert again.prompt_attributes() == {"prompt": "explainer", "prompt_version": 1}
    assert again._tools == TOOLS
    again.messages.editors[0].text.setPlainText("Changed.")
    assert again.prompt_attributes() == {}


def test_an_unreadable_library_is_said_in_the_bar_not_over_the_banner(qtbot, page, ctx):
    import sqlite3

    ctx.db.call(lambda store: None)        # the store exists (the DB lane opens it lazily, on its own thread)
    conn = sqlite3.connect(ctx.db_path)
    conn.execute("DROP TABLE prompt_versions")
    conn.execute("DROP TABLE prompts")
    conn.commit()
    conn.close()
    page.library.refresh()
    qtbot.waitUntil(lambda: "no such table: prompts" in page.library.combo.toolTip(), timeout=10_000)
    assert page.library.combo.placeholderText() == "could not read the library"
    assert page.banner_kind() == "info" and not page.library.add_button.isEnabled()
