"""A simulated blinded study of the registered models (a rehearsal of the protocol, not a result).

It runs the whole study path a team would: held-out open faces (UTKFace test split, never trained
on) become cases with the whole-mouth + nostril-sill mask the app suggests, every model's output
is made by the clinic's prediction path (``app.rating.generation.service_outputs``), simulated
raters (``studies.simulation``) rate them blind, the owner closes and unblinds the study, and the
study's own analysis is printed and exported (CSV/JSON) like a real one.

    python benchmarks/simulated_study.py --models opencv-ns harmonic-fill nclg-mt-lite \\
        edgeconnect-lite lafin-lite ctsdg-lite --cases 12 --raters 3 --out runs/simulated-study

Every model must have its weights (``python -m inference models``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSPHRASE = "simulated study"


def held_out_photos(cache: Path, n: int, ages: str) -> list[Path]:
    """The original photos of the first ``n`` test faces of the crop cache (adults, infants or both)."""
    from training.data.dataset import FaceCropSet

    infant = {"all": None, "adults": False, "infants": True}[ages]
    faces = FaceCropSet(cache, "test", infant=infant)
    folder = Path(faces.info["data_folder"])
    return [folder / row.key for row in faces.rows[:n]]


def build_study(out: Path, photos: list[Path], models: list[str], n_raters: int, family: str
                ) -> tuple[object, int, list[int]]:
    """A study in ``out`` with one case per photo (the suggested ``family`` mask), its outputs and raters."""
    from app.rating.generation import service_outputs
    from inference.face.suggest import suggest_mask
    from inference.io import load_photo
    from inference.pipeline import FacePipeline
    from studies.cases import CaseStore
    from studies.database import open_database
    from studies.options import StudyOptions
    from studies.study_setup import StudySetup

    db = open_database(out / "data")
    store, pipeline = CaseStore(db), FacePipeline()
    case_ids = []
    for i, photo in enumerate(photos):
        rgb = load_photo(photo).rgb
        landmarks = pipeline.analyse(rgb).landmarks
        case = store.create_case(f"SIM-{i:03d}", photo)
        store.save_mask(case.id, suggest_mask(landmarks, rgb.shape[:2], family))
        case_ids.append(case.id)
    setup = StudySetup(db)
    study = setup.create_study("Simulated comparison", "Simulation", PASSPHRASE,
                               StudyOptions(show_original=True, repeat_fraction=0.2))
    setup.add_cases(study.id, case_ids)
    setup.add_models(study.id, models)
    for step in setup.iter_generate_outputs(study.id, service_outputs(), PASSPHRASE):
        print(f"\r  outputs {step.done} / {step.total}", end="", flush=True)
    print()
    raters = [setup.add_rater(study.id, f"Simulated rater {i}", f"S{i}").id for i in range(n_raters)]
    setup.open_study(study.id)
    return db, study.id, raters


def main(argv: list[str] | None = None) -> int:
    from studies.analysis import analyse_study, export_analysis
    from studies.simulation import SimulatedRater, rate_all
    from studies.unblinding import UnblindingService

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--cases", type=int, default=12)
    p.add_argument("--raters", type=int, default=3)
    p.add_argument("--ages", choices=["all", "adults", "infants"], default="all")
    p.add_argument("--family", default="mouth_nostril", help="the suggested mask family (inference.face.suggest)")
    p.add_argument("--cache", default=str(ROOT / "data-cache" / "utkface"))
    p.add_argument("--out", required=True, help="a new folder for the study's database and the exported analysis")
    args = p.parse_args(argv)

    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        p.error(f"{out} is not empty: a simulated study starts from a new folder")
    photos = held_out_photos(Path(args.cache), args.cases, args.ages)
    print(f"{len(photos)} held-out faces, models {', '.join(args.models)}, {args.raters} simulated raters")
    db, study_id, raters = build_study(out, photos, args.models, args.raters, args.family)
    for i, rater_id in enumerate(raters):
        rate_all(db, rater_id, SimulatedRater(strictness=1.4 + 0.2 * i, seed=i))
    service = UnblindingService(db)
    service.close_study(study_id, PASSPHRASE, "Simulation")
    service.unblind(study_id, PASSPHRASE, "Simulation")
    analysis = analyse_study(db, study_id)
    print(f"\n{analysis.n_cases} cases, {analysis.n_ratings} ratings by {', '.join(analysis.raters)} (simulated)")
    print("| model | valid | valid share (95 % CI) | mean rank of valid |")
    print("|---|---:|---|---:|")
    for s in analysis.overall:
        share = "-" if s.valid_probability is None else \
            f"{s.valid_probability:.0%} ({s.valid_ci_low:.0%}-{s.valid_ci_high:.0%})"
        rank = "-" if s.average_ranking is None else f"{s.average_ranking:.2f}"
        print(f"| {s.model} | {s.n_valid} / {s.n_rated} | {share} | {rank} |")
    if analysis.friedman is not None:
        f = analysis.friedman
        print(f"Friedman over {f.n_blocks} rated cases: chi2 = {f.statistic:.2f}, df = {f.df}, p = {f.p_value:.3g}; "
              f"Kendall's W = {f.kendall_w:.2f}; mean full ranks "
              + ", ".join(f"{m} {r:.2f}" for m, r in zip(f.models, f.mean_ranks)))
    agreement = analysis.validity_agreement
    if agreement.kappa is not None:
        print(f"validity agreement: Fleiss' kappa {agreement.kappa:.2f} over {agreement.n_subjects} outputs, "
              f"{agreement.n_raters} raters")
    for path in export_analysis(db, study_id, out / "analysis"):
        print(f"exported {path}")
    db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
