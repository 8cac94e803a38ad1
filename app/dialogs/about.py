"""About: version, what a prediction is (and is not), the data terms and every model card."""

from __future__ import annotations

import html
import json

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QTextBrowser, QVBoxLayout, QWidget

from app.state import ModelChoice

RESEARCH_STATEMENT = (
    "A prediction is a research visualisation produced by a computer model. It is not a promise, "
    "a plan or a guarantee of the result of surgery, and must not be presented to families as one."
)
DATA_TERMS = (
    "The neural models were trained only on openly available face data sets whose terms allow "
    "non-commercial research use. The weights inherit those terms: use them for non-commercial "
    "research only. The landmark detector (dlib, iBUG 300-W) carries the same restriction. "
    "Patient photos opened in this program never leave this computer and are never used for training."
)


def _card_html(model: ModelChoice) -> str:
    rows = [("Name", model.name), ("Status", model.reason), ("Description", model.description)]
    if model.weights_sha256:
        rows.append(("Weights SHA-256", model.weights_sha256))
    for key, value in (model.card or {}).items():
        if key == "weights_sha256":
            continue
        text = value if isinstance(value, str) else json.dumps(value, indent=1, ensure_ascii=False)
        rows.append((key.replace("_", " ").capitalize(), text))
    def cell(value: str) -> str:  # structured card entries (JSON) keep their layout
        if "\n" in value:
            return f"<pre style='white-space: pre-wrap; margin:0'>{html.escape(value)}</pre>"
        return html.escape(value)

    body = "".join(f"<tr><td valign='top'><b>{html.escape(k)}</b></td><td>{cell(str(v))}</td></tr>" for k, v in rows)
    return f"<h3>{html.escape(model.display_name)}</h3><table cellspacing='6'>{body}</table>"


class AboutDialog(QDialog):
    def __init__(self, version: str, models: list[ModelChoice], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Cleft Lip Inpainting")
        self.resize(680, 560)
        tabs = QTabWidget()
        about = QTextBrowser()
        about.setOpenExternalLinks(False)
        about.setHtml(
            f"<h2>Cleft Lip Inpainting</h2><p>Version {html.escape(version)}</p>"
            "<p>Research software for cleft-lip surgeons: a landmark-guided multi-task inpainting network "
            "(Chen et al., IEEE BHI 2022; INCLG, Software Impacts 2023) predicts a plausible repaired lip "
            "from a pre-operative photo and a painted mask.</p>"
            f"<p style='background:#fff4d6; color:#222; padding:8px'><b>Important.</b> {html.escape(RESEARCH_STATEMENT)}</p>"
            f"<h3>Training data terms</h3><p>{html.escape(DATA_TERMS)}</p>")
        tabs.addTab(about, "About")
        cards = QTextBrowser()
        cards.setHtml("".join(_card_html(m) for m in models) or "<p>The model list is still loading.</p>")
        tabs.addTab(cards, "Model cards")
        self.about_text, self.cards_text = about, cards
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(buttons)
