"""The analysis of an unblinded study: tables, charts with intervals, plain-language readings, exports.

The readings are the same functions the PDF report prints (``studies.reports.study_report``), so
the screen and the report never disagree. A ranking study shows validity and ranking per model;
a pairwise study its Bradley-Terry scores. Both show the Asher-McDade scale means with intervals,
the ICCs with their intervals, the raters' comments filed per model and example outputs.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.rating.charts import Bar, IntervalBarChart
from app.rating.prompts import PDF_FILTER, StudyPrompts
from app.workers import describe_error
from studies.analysis import StudyAnalysis, analyse_study, export_analysis
from studies.database import Database
from studies.errors import StudyError
from studies.reports.study_report import (
    build_study_report,
    ranking_interval,
    read_bradley_terry,
    read_fleiss,
    read_friedman,
    read_icc,
    read_intra,
    read_kendall,
    read_models,
    read_scales,
    scale_title,
)
from studies.statistics import BradleyTerryResult, ModelSummary, ScaleSummary
from studies.study_setup import StudySetup
from studies.unblinding import UnblindingService

HEADER = ("Model", "Rated", "Valid", "Valid probability", "95 % CI (Wilson)", "Average ranking ± SD", "Ranked")
PAIR_HEADER = ("Model", "Wins", "Compared", "Bradley-Terry score [95 % CI]", "Preferred over an average model")
EXAMPLE_SIDE = 150


def _table(columns: int) -> QTableWidget:
    table = QTableWidget(0, columns)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    return table


def _fill(table: QTableWidget, rows: list[tuple[str, ...]]) -> None:
    table.setRowCount(len(rows))
    for row, values in enumerate(rows):
        for col, value in enumerate(values):
            item = QTableWidgetItem(value)
            if col:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(row, col, item)
    table.setFixedHeight(table.horizontalHeader().height() + 6 + sum(table.rowHeight(r) for r in range(len(rows))))


def _heading(text: str) -> QLabel:
    label = QLabel(f"<h3 style='margin-bottom:2px'>{_esc(text)}</h3>")
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


class AnalysisWindow(QWidget):
    """Raises :class:`studies.errors.AnalysisError` at construction if the study cannot be analysed."""

    def __init__(self, db: Database, study_id: int, prompts: StudyPrompts, clinic_name: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.db, self.study_id, self.prompts, self.clinic_name = db, study_id, prompts, clinic_name
        self.analysis: StudyAnalysis = analyse_study(db, study_id)
        a = self.analysis
        self.setWindowTitle(f"Analysis · {a.title}")
        self.resize(1150, 900)

        outer = QVBoxLayout(self)
        head = QHBoxLayout()
        what = f"{a.bradley_terry.n_comparisons} pairs compared" if a.pairwise and a.bradley_terry \
            else f"{a.n_ratings} output ratings"
        title = QLabel(f"<span style='font-size:16px; font-weight:600'>{_esc(a.title)}</span>"
                       f"<br><span style='color:#5f6368'>{len(a.raters)} raters · "
                       f"{a.n_cases} cases · {what}</span>")
        head.addWidget(title, 1)
        head.addWidget(QLabel("Show:"))
        self.scope = QComboBox()
        self.scope.addItem("All raters")
        for rater in a.by_rater:
            self.scope.addItem(f"Rater {rater}", rater)
        self.scope.currentIndexChanged.connect(self.show_scope)
        head.addWidget(self.scope)
        self.export_button = QPushButton("Export CSV and JSON…")
        self.export_button.clicked.connect(self.export_tables)
        self.pdf_button = QPushButton("Save PDF report…")
        self.pdf_button.clicked.connect(self.save_pdf)
        head.addWidget(self.export_button)
        head.addWidget(self.pdf_button)
        outer.addLayout(head)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        layout = QVBoxLayout(body)
        header = PAIR_HEADER if a.pairwise else HEADER
        self.table = _table(len(header))
        self.table.setHorizontalHeaderLabels(header)
        layout.addWidget(self.table)
        self.model_reading = QLabel()
        self.model_reading.setWordWrap(True)
        layout.addWidget(self.model_reading)
        charts = QHBoxLayout()
        if a.pairwise:
            self.valid_chart = IntervalBarChart("Preferred over a model of average strength (95 % bootstrap interval)",
                                                "Preferred (%)")
        else:
            self.valid_chart = IntervalBarChart("Valid probability (Wilson 95 % interval)", "Valid (%)")
        self.rank_chart = IntervalBarChart("Average ranking, 1 = best (95 % interval)", "Average rank")
        self.rank_chart.setVisible(not a.pairwise)
        charts.addWidget(self.valid_chart)
        charts.addWidget(self.rank_chart)
        layout.addLayout(charts)

        self.scale_table = _table(len(a.scales) + 2)
        self.scale_chart = IntervalBarChart("", "Mean score")
        self.scale_choice = QComboBox()
        if a.scales:
            layout.addWidget(_heading("Asher-McDade scales per model (mean, 1 = very good, 5 = very poor)"))
            self.scale_table.setHorizontalHeaderLabels(
                ["Model", *[f"{scale_title(s)} [95 % CI]" for s in a.scales], "Cases"])
            layout.addWidget(self.scale_table)
            self.scale_reading = QLabel()
            self.scale_reading.setWordWrap(True)
            layout.addWidget(self.scale_reading)
            row = QHBoxLayout()
            row.addWidget(QLabel("Chart of:"))
            for scale in a.scales:
                self.scale_choice.addItem(scale_title(scale), scale)
            self.scale_choice.currentIndexChanged.connect(lambda *_: self._show_scale_chart())
            row.addWidget(self.scale_choice)
            row.addStretch(1)
            layout.addLayout(row)
            layout.addWidget(self.scale_chart)

        self.statistics = QLabel()
        self.statistics.setWordWrap(True)
        self.statistics.setTextFormat(Qt.TextFormat.RichText)
        self.statistics.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.statistics)
        layout.addWidget(_heading("Rater comments per model"))
        self.comments = QLabel()
        self.comments.setWordWrap(True)
        self.comments.setTextFormat(Qt.TextFormat.RichText)
        self.comments.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.comments)
        self.examples = QWidget()
        if a.examples:
            layout.addWidget(_heading("Example outputs (the same cases for every model)"))
            self._build_examples()
            layout.addWidget(self.examples)
        layout.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self.statistics.setText(self._statistics_html())
        self.comments.setText(self._comments_html())
        self.show_scope()

    # ------------------------------------------------------------------ scope: all raters or one

    def summaries(self) -> tuple[ModelSummary, ...]:
        rater = self.scope.currentData()
        return self.analysis.overall if rater is None else self.analysis.by_rater[rater]

    def scale_means(self) -> tuple[ScaleSummary, ...]:
        rater = self.scope.currentData()
        return self.analysis.scale_means if rater is None else self.analysis.scale_means_by_rater.get(rater, ())

    def bradley_terry(self) -> BradleyTerryResult | None:
        rater = self.scope.currentData()
        return self.analysis.bradley_terry if rater is None else self.analysis.bradley_terry_by_rater.get(rater)

    def show_scope(self) -> None:
        if self.analysis.pairwise:
            self._show_pairs()
        else:
            self._show_ranking()
        if self.analysis.scales:
            self._show_scales()

    def _show_ranking(self) -> None:
        summaries = self.summaries()
        rows = []
        for s in summaries:
            ci = ("n/a" if s.valid_ci_low is None or s.valid_ci_high is None
                  else f"{100 * s.valid_ci_low:.0f}–{100 * s.valid_ci_high:.0f} %")
            rank = "n/a" if s.average_ranking is None else f"{s.average_ranking:.2f}"
            if s.ranking_sd is not None:
                rank += f" ± {s.ranking_sd:.2f}"
            rows.append((s.model, str(s.n_rated), str(s.n_valid),
                         "n/a" if s.valid_probability is None else f"{100 * s.valid_probability:.0f} %", ci, rank,
                         str(s.n_ranked)))
        _fill(self.table, rows)
        self.model_reading.setText(read_models(summaries))
        self.valid_chart.set_bars(
            [Bar(s.model, 100 * s.valid_probability, 100 * (s.valid_ci_low or 0.0), 100 * (s.valid_ci_high or 0.0),
                 f"n={s.n_rated}") for s in summaries if s.valid_probability is not None],
            y_max=100, value_format="{:.0f} %")
        rank_bars = []
        for s in summaries:
            if s.average_ranking is None:
                continue
            interval = ranking_interval(s)
            rank_bars.append(Bar(s.model, s.average_ranking, None if interval is None else max(0.0, interval[0]),
                                 None if interval is None else interval[1], f"n={s.n_ranked}"))
        self.rank_chart.set_bars(rank_bars)

    def _show_pairs(self) -> None:
        result = self.bradley_terry()
        rows, bars = [], []
        for m in () if result is None else result.models:
            score = "n/a" if m.score is None else f"{m.score:+.2f}" + (
                "" if m.ci_low is None or m.ci_high is None else f"  [{m.ci_low:+.2f}, {m.ci_high:+.2f}]")
            pref = "n/a" if m.preference is None else f"{100 * m.preference:.0f} %" + (
                "" if m.preference_low is None or m.preference_high is None
                else f"  [{100 * m.preference_low:.0f}, {100 * m.preference_high:.0f}]")
            rows.append((m.model, str(m.wins), str(m.comparisons), score, pref))
            if m.preference is not None:
                bars.append(Bar(m.model, 100 * m.preference,
                                None if m.preference_low is None else 100 * m.preference_low,
                                None if m.preference_high is None else 100 * m.preference_high, f"n={m.comparisons}"))
        _fill(self.table, rows)
        self.model_reading.setText(read_bradley_terry(result))
        self.valid_chart.set_bars(bars, y_max=100, value_format="{:.0f} %")

    def _show_scales(self) -> None:
        means = {(m.model, m.scale): m for m in self.scale_means()}
        rows = []
        for model in self.analysis.models:
            cells, cases = [], 0
            for scale in self.analysis.scales:
                m = means.get((model, scale))
                if m is None or m.mean is None:
                    cells.append("n/a")
                    continue
                cases = max(cases, m.n_cases)
                ci = "" if m.ci_low is None or m.ci_high is None else f"  [{m.ci_low:.2f}, {m.ci_high:.2f}]"
                cells.append(f"{m.mean:.2f}{ci}")
            rows.append((model, *cells, str(cases)))
        _fill(self.scale_table, rows)
        self.scale_reading.setText(read_scales(self.scale_means()))
        self._show_scale_chart()

    def _show_scale_chart(self) -> None:
        scale = self.scale_choice.currentData()
        if scale is None:
            return
        self.scale_chart.title = f"{scale_title(scale)}: mean score with 95 % interval (lower is better)"
        self.scale_chart.set_bars([Bar(m.model, m.mean, m.ci_low, m.ci_high, f"n={m.n_cases}")
                                   for m in self.scale_means() if m.scale == scale and m.mean is not None],
                                  y_max=5)

    # ------------------------------------------------------------------ text sections

    def _statistics_html(self) -> str:
        a = self.analysis
        parts: list[tuple[str, list[str]]] = []
        if not a.pairwise:
            parts += [("Friedman test", [read_friedman(a.friedman)]),
                      ("Kendall's W", [read_kendall(a.friedman)]),
                      ("Fleiss' kappa", [read_fleiss(a.validity_agreement)])]
        if a.scale_icc:
            parts.append(("ICC of the Asher-McDade scales (95 % intervals)", [read_icc(r) for r in a.scale_icc]))
        if a.intra_rater and not a.pairwise:
            parts.append(("Intra-rater agreement", [read_intra(r) for r in a.intra_rater]))
        return "".join(f"<h3 style='margin-bottom:2px'>{_esc(h)}</h3>" + "".join(f"<p style='margin:2px 0'>{_esc(t)}</p>"
                                                                              for t in lines) for h, lines in parts)

    def _comments_html(self) -> str:
        if not self.analysis.comments:
            return "<p style='color:#5f6368'>No rater wrote a comment.</p>"
        groups: dict[str | None, list[str]] = {}
        for c in self.analysis.comments:
            where = f"{c.rater} · {c.case}" + (" · invalid output" if c.source == "invalid" else "")
            groups.setdefault(c.model, []).append(f"<span style='color:#5f6368'>{_esc(where)}:</span> {_esc(c.text)}")
        return "".join(f"<p style='margin:6px 0 2px 0'><b>{_esc(m if m is not None else 'Naming no output')}</b></p>"
                       + "".join(f"<p style='margin:1px 0 1px 12px'>{line}</p>" for line in lines)
                       for m, lines in groups.items())

    def _build_examples(self) -> None:
        grid = QGridLayout(self.examples)
        grid.setHorizontalSpacing(8)
        a = self.analysis
        cases = list(dict.fromkeys(e.case for e in a.examples))
        by_key = {(e.model, e.case): e for e in a.examples}
        inputs = {e.case: e.input_path for e in a.examples}
        for col, case in enumerate(cases, 1):
            grid.addWidget(QLabel(f"<b>{_esc(case)}</b>"), 0, col, Qt.AlignmentFlag.AlignHCenter)
        rows = ([("Input shown to raters", {c: inputs[c] for c in cases})] if any(inputs.values()) else [])
        rows += [(m, {c: by_key[(m, c)].image_path for c in cases if (m, c) in by_key}) for m in a.models]
        for row, (name, paths) in enumerate(rows, 1):
            grid.addWidget(QLabel(f"<b>{_esc(name)}</b>"), row, 0)
            for col, case in enumerate(cases, 1):
                picture = QLabel()
                pixmap = QPixmap(str(paths[case])) if paths.get(case) is not None else QPixmap()
                if not pixmap.isNull():
                    picture.setPixmap(pixmap.scaled(EXAMPLE_SIDE, EXAMPLE_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                                                    Qt.TransformationMode.SmoothTransformation))
                    picture.setToolTip(f"{name}, {case}")
                else:
                    picture.setText("n/a")
                grid.addWidget(picture, row, col)
        grid.setColumnStretch(len(cases) + 1, 1)

    # ------------------------------------------------------------------ exports

    def export_tables(self) -> None:
        folder = self.prompts.choose_folder("Folder for the analysis files")
        if folder is None:
            return
        try:
            paths = export_analysis(self.db, self.study_id, folder)
        except (StudyError, OSError) as exc:
            self.prompts.error("Export failed", describe_error(exc))
            return
        self.prompts.info("Analysis exported", "Written:\n" + "\n".join(p.name for p in paths) + f"\n\nin {folder}")

    def save_pdf(self) -> None:
        path = self.prompts.save_file("Save the study report", PDF_FILTER, "study_report.pdf")
        if path is None:
            return
        if path.suffix.lower() != ".pdf":
            path = path.with_suffix(".pdf")
        try:
            build_study_report(self.analysis, path, study=StudySetup(self.db).get_study(self.study_id),
                               log=UnblindingService(self.db).log(self.study_id), clinic_name=self.clinic_name)
        except (StudyError, OSError) as exc:
            self.prompts.error("Report not saved", describe_error(exc))
            return
        self.prompts.info("Report saved", f"The study report was saved as {path}.")


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
