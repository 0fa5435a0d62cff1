"""The Experiments page's widgets and their arrangement (the behaviour is in page.py)."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QBoxLayout, QComboBox, QFrame, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
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
        models_scroll = QScrollArea()                  # its models and parameters scroll: they never make the
        models_scroll.setWidget(models_tab)             # asserts' tab (same height) taller than the room above Results
        models_scroll.setWidgetResizable(True)
        models_scroll.setFrameShape(QFrame.Shape.NoFrame)
        models_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        models_scroll.setMinimumWidth(models_tab.minimumSizeHint().width()
                                      + models_scroll.verticalScrollBar().sizeHint().width())
        self.setup_tabs = QTabWidget()
        self.setup_tabs.addTab(models_scroll, "Models")
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
        self.name_edit.setMinimumWidth(160)             # the name stays readable beside a long stream name
        self.stream_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.stream_combo.setMinimumContentsLength(14)   # a long stream name scrolls in the box, not the page
        self.stream_combo.setToolTip("Every call of the experiment is logged to this stream")
        file_row = QHBoxLayout()                        # Open, Save, the name …
        file_row.addWidget(self.open_button)
        file_row.addWidget(self.save_button)
        file_row.addSpacing(10)
        file_row.addWidget(QLabel("Experiment"))
        file_row.addWidget(self.name_edit, 1)
        run_row = QHBoxLayout()                         # … and where and how often it runs
        for label, widget, stretch in (("Log to stream", self.stream_combo, 1), ("Repeats", self.repeats, 0),
                                       ("Concurrency", self.concurrency, 0)):
            run_row.addSpacing(10)
            run_row.addWidget(QLabel(label))
            run_row.addWidget(widget, stretch)
        self.settings_rows = settings_row = QBoxLayout(QBoxLayout.Direction.LeftToRight)   # one line, or two when narrow
        settings_row.addLayout(file_row, 3)
        settings_row.addLayout(run_row, 2)

        values.setMinimumWidth(120)
        self.prompts_split = QSplitter(Qt.Orientation.Horizontal)     # prompts | values: always side by side
        self.prompts_split.addWidget(prompts)
        self.prompts_split.addWidget(values)
        self.prompts_split.setStretchFactor(0, 2)
        self.prompts_split.setStretchFactor(1, 1)
        self.prompts_split.setChildrenCollapsible(False)
        inputs = QSplitter(Qt.Orientation.Horizontal)   # … with the Models / Asserts tabs beside them, or below
        inputs.addWidget(self.prompts_split)
        inputs.addWidget(self.setup_tabs)
        inputs.setStretchFactor(0, 6)
        inputs.setStretchFactor(1, 4)
        inputs.setChildrenCollapsible(False)
        self.prompts_split.setSizes([400, 200])
        inputs.setSizes([600, 400])                     # the asserts' rubrics need width as much as the prompts
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
        top_scroll = self.inputs_scroll = QScrollArea()                   # in a small window the inputs scroll, the results keep room
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


    def _arrange(self, width: int) -> None:
        """Beside each other when the page is wide enough for their smallest sizes; else the settings take two
        lines and the Models / Asserts tabs go under the prompts (the inputs then scroll up and down only)."""
        margins = self.layout().contentsMargins().left() + self.layout().contentsMargins().right()
        room = width - margins - self.inputs_scroll.verticalScrollBar().sizeHint().width()
        one_line = sum(self.settings_rows.itemAt(i).minimumSize().width() for i in range(2)) + 20
        self.settings_rows.setDirection(QBoxLayout.Direction.LeftToRight if room >= one_line
                                        else QBoxLayout.Direction.TopToBottom)
        beside = (self.prompts_split.minimumSizeHint().width() + self.setup_tabs.minimumSizeHint().width()
                  + self.inputs_split.handleWidth() + 20)
        wide = room >= beside
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.inputs_split.orientation() != orientation:
            self.inputs_split.setOrientation(orientation)
            self.inputs_split.setSizes([600, 400] if wide else [260, 260])
            self.setup_tabs.setMinimumHeight(0 if wide else 240)     # under the prompts: a few asserts in view
            self.prompts_split.setMinimumHeight(0 if wide else 240)

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
