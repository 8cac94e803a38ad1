"""The analysis of an unblinded study: tables, charts with intervals, plain-language readings, exports.

The readings are the same functions the PDF report prints (``studies.reports.study_report``), so
the screen and the report never disagree.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
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
    read_fleiss,
    read_friedman,
    read_icc,
    read_intra,
    read_kendall,
    read_models,
)
from studies.statistics import ModelSummary
from studies.study_setup import StudySetup
from studies.unblinding import UnblindingService

HEADER = ("Model", "Rated", "Valid", "Valid probability", "95 % CI (Wilson)", "Average ranking ± SD", "Ranked")


class AnalysisWindow(QWidget):
    """Raises :class:`studies.errors.AnalysisError` at construction if the study cannot be analysed."""

    def __init__(self, db: Database, study_id: int, prompts: StudyPrompts, clinic_name: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.db, self.study_id, self.prompts, self.clinic_name = db, study_id, prompts, clinic_name
        self.analysis: StudyAnalysis = analyse_study(db, study_id)
        self.setWindowTitle(f"Analysis · {self.analysis.title}")
        self.resize(1150, 900)

        outer = QVBoxLayout(self)
        head = QHBoxLayout()
        title = QLabel(f"<span style='font-size:16px; font-weight:600'>{_esc(self.analysis.title)}</span>"
                       f"<br><span style='color:#5f6368'>{len(self.analysis.raters)} raters · "
                       f"{self.analysis.n_cases} cases · {self.analysis.n_ratings} output ratings</span>")
        head.addWidget(title, 1)
        head.addWidget(QLabel("Show:"))
        self.scope = QComboBox()
        self.scope.addItem("All raters")
        for rater in self.analysis.by_rater:
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
        self.table = QTableWidget(0, len(HEADER))
        self.table.setHorizontalHeaderLabels(HEADER)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table)
        self.model_reading = QLabel()
        self.model_reading.setWordWrap(True)
        layout.addWidget(self.model_reading)
        charts = QHBoxLayout()
        self.valid_chart = IntervalBarChart("Valid probability (Wilson 95 % interval)", "Valid (%)")
        self.rank_chart = IntervalBarChart("Average ranking, 1 = best (95 % interval)", "Average rank")
        charts.addWidget(self.valid_chart)
        charts.addWidget(self.rank_chart)
        layout.addLayout(charts)
        self.statistics = QLabel()
        self.statistics.setWordWrap(True)
        self.statistics.setTextFormat(Qt.TextFormat.RichText)
        self.statistics.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.statistics)
        layout.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self.statistics.setText(self._statistics_html())
        self.show_scope()

    def summaries(self) -> tuple[ModelSummary, ...]:
        rater = self.scope.currentData()
        return self.analysis.overall if rater is None else self.analysis.by_rater[rater]

    def show_scope(self) -> None:
        summaries = self.summaries()
        self.table.setRowCount(len(summaries))
        for row, s in enumerate(summaries):
            ci = ("n/a" if s.valid_ci_low is None or s.valid_ci_high is None
                  else f"{100 * s.valid_ci_low:.0f}–{100 * s.valid_ci_high:.0f} %")
            rank = "n/a" if s.average_ranking is None else f"{s.average_ranking:.2f}"
            if s.ranking_sd is not None:
                rank += f" ± {s.ranking_sd:.2f}"
            values = (s.model, str(s.n_rated), str(s.n_valid),
                      "n/a" if s.valid_probability is None else f"{100 * s.valid_probability:.0f} %", ci, rank,
                      str(s.n_ranked))
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.table.setFixedHeight(self.table.horizontalHeader().height() + 6
                                  + sum(self.table.rowHeight(r) for r in range(len(summaries))))
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

    def _statistics_html(self) -> str:
        a = self.analysis
        parts = [("Friedman test", [read_friedman(a.friedman)]),
                 ("Kendall's W", [read_kendall(a.friedman)]),
                 ("Fleiss' kappa", [read_fleiss(a.validity_agreement)])]
        if a.scale_icc:
            parts.append(("ICC of the Asher-McDade scales", [read_icc(r) for r in a.scale_icc]))
        if a.intra_rater:
            parts.append(("Intra-rater agreement", [read_intra(r) for r in a.intra_rater]))
        return "".join(f"<h3 style='margin-bottom:2px'>{_esc(h)}</h3>" + "".join(f"<p style='margin:2px 0'>{_esc(t)}</p>"
                                                                              for t in lines) for h, lines in parts)

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
