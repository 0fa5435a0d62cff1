"""The Experiments page's widgets and their arrangement (the behaviour is in page.py)."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QFrame, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QPlainTextEdit, QProgressBar, QPushButton, QScrollArea, QSpinBox, QSplitter, QTabWidget,
                               QVBoxLayout, QWidget)

from ..param_panel import ParamPanel
from .asserts_editor import AssertsEditor
from .inputs import ModelChecklist, ValuesEditor
from ..prompt_library import PromptLibraryBar
from .results_panel import ResultsPanel

NO_SYSTEM = "(no system prompt)"          # a line of the system prompts box meaning "" in the file
BATCH_MS = 40                             # results that land within this window are drawn together


class PageLayout:
    """Mixin for ExperimentsPage: builds its widgets."""

    def _build(self) -> None:
        self.system_edit = QPlainTextEdit()
        self.system_edit.setPlaceholderText("One system prompt per line, e.g.\nyou're extremely flowery and poetic\n"
                                            f"you're very direct and precise\n{NO_SYSTEM}")
        self.template_edit = QPlainTextEdit()
        self.template_edit.setPlaceholderText("User prompt template, e.g. explain the solution of the following "
                                              "to a {audience}: {equation}")
        prompts = QGroupBox("Prompts")
        prompts_layout = QVBoxLayout(prompts)
        self.library = PromptLibraryBar(self.ctx)
        self.library.combo.setMinimumContentsLength(8)     # room for the asserts beside the prompts
        prompts_layout.addWidget(self.library)
        prompts_layout.addWidget(QLabel(f"System prompts — one per line; “{NO_SYSTEM}” = no system message"))
        prompts_layout.addWidget(self.system_edit, 1)
        prompts_layout.addWidget(QLabel("User prompt template — {variables} in braces, {{ }} for literal braces"))
        prompts_layout.addWidget(self.template_edit, 1)

        self.values_editor = ValuesEditor()
        values = QGroupBox("Variable values")
        QVBoxLayout(values).addWidget(self.values_editor)

        self.models = ModelChecklist()
        self.params = ParamPanel()
        self.params.stream.setVisible(False)      # experiments wait for whole replies
        self.params.stream.setChecked(False)
        self.asserts_editor = AssertsEditor()
        models_tab = QWidget()
        models_layout = QVBoxLayout(models_tab)
        models_layout.addWidget(self.models, 1)
        models_layout.addWidget(self.params)
        self.setup_tabs = QTabWidget()
        self.setup_tabs.addTab(models_tab, "Models")
        asserts_tab = QWidget()                        # holds the editor, or a note while it is in its larger window
        asserts_layout = QVBoxLayout(asserts_tab)
        asserts_layout.setContentsMargins(4, 4, 4, 4)
        asserts_layout.addWidget(self.asserts_editor, 1)
        self.setup_tabs.addTab(asserts_tab, "Asserts && judges")

        self.repeats = QSpinBox()
        self.repeats.setRange(1, 1000)
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, 64)
        self.concurrency.setValue(4)
        self.concurrency.setToolTip("At most this many calls in flight at once")
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("Logged as the 'experiment' attribute of every call")
        self.stream_combo = QComboBox()
        self.stream_combo.setEditable(True)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open an experiment file (YAML or JSON) — the format `openai-monitor "
                                    "experiment run` runs")
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("Save as an experiment file that `openai-monitor experiment run FILE` runs")
        settings_row = QHBoxLayout()
        settings_row.addWidget(self.open_button)
        settings_row.addWidget(self.save_button)
        settings_row.addSpacing(10)
        for label, widget, stretch in (("Experiment", self.name_edit, 2), ("Log to stream", self.stream_combo, 1),
                                       ("Repeats", self.repeats, 0), ("Concurrency", self.concurrency, 0)):
            settings_row.addWidget(QLabel(label))
            settings_row.addWidget(widget, stretch)
            settings_row.addSpacing(10)

        inputs = QSplitter(Qt.Orientation.Horizontal)
        for box, stretch in ((prompts, 4), (values, 2), (self.setup_tabs, 4)):
            inputs.addWidget(box)
            inputs.setStretchFactor(inputs.count() - 1, stretch)
        inputs.setSizes([400, 200, 400])                # the asserts' rubrics need width as much as the prompts
        self.inputs_split = inputs

        self.preview_label = QLabel()
        self.preview_label.setTextFormat(Qt.TextFormat.PlainText)
        self.preview_label.setWordWrap(True)          # a long estimate must not widen the page
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(200)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("not run yet")
        self.run_button = QPushButton("Run experiment")
        self.rerun_failed_button = QPushButton("Re-run failed")
        self.rerun_failed_button.setToolTip("Run again only the cells that failed an assert or errored")
        self.rerun_changed_button = QPushButton("Run changed")
        self.rerun_changed_button.setToolTip("Run only the cells the last run did not have (new prompts, values, "
                                             "models, parameters or asserts); keep the others")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        bar = QHBoxLayout()
        bar.addWidget(self.preview_label, 1)
        bar.addWidget(self.progress)
        for b in (self.run_button, self.rerun_failed_button, self.rerun_changed_button, self.cancel_button):
            bar.addWidget(b)

        self.panel = ResultsPanel()
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.totals_label = QLabel()
        self.totals_label.setTextFormat(Qt.TextFormat.PlainText)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        footer = QHBoxLayout()
        footer.addWidget(self.totals_label, 1)
        footer.addWidget(self.export_button)
        results = QGroupBox("Results")
        results_layout = QVBoxLayout(results)
        results_layout.addLayout(bar)               # outside the inputs' scroll area: Run is always in view
        results_layout.addWidget(self.status_label)
        results_layout.addWidget(self.panel, 1)
        results_layout.addLayout(footer)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(settings_row)
        top_layout.addWidget(inputs, 1)
        top_scroll = QScrollArea()                   # in a small window the inputs scroll, the results keep room
        top_scroll.setWidget(top)
        top_scroll.setWidgetResizable(True)
        top_scroll.setFrameShape(QFrame.Shape.NoFrame)
        top_scroll.setMinimumHeight(120)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top_scroll)
        split.addWidget(results)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([360, 540])                      # at 900 px the inputs show a few asserts, not one
        self.main_split = split
        QVBoxLayout(self).addWidget(split)

        self._inputs_timer = QTimer(self)
        self._inputs_timer.setSingleShot(True)
        self._inputs_timer.setInterval(200)
        self._batch_timer = QTimer(self)
        self._batch_timer.setSingleShot(True)
        self._batch_timer.setInterval(BATCH_MS)


    def _fit_columns(self) -> None:
        header = self.panel.table.horizontalHeader()
        widths = {"#": 36, "System prompt": 170, "Model": 96, "Repeat": 54, "Tokens": 72, "Cost": 76,
                  "Latency": 66, "Status": 66, "Scores": 60}
        for column, name in enumerate(self.results.headers()):
            if name == "Output":
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
            else:
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
                header.resizeSection(column, widths.get(name, 130))
