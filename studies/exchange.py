"""Multi-site rating: export a study package, import it at another site, bring the answers back.

Package (zip): ``manifest.json`` (study options, raters with their drawn orders, outputs by
neutral id and hash; never models, never which items are repeats), ``outputs/*.png``, the case
images raters may see, and a blank ``answer_sheet.csv``. Every zip entry carries the same date.
The other site imports the package as a *satellite* study (no model mapping exists there),
rates with the normal rating screen, and exports the filled sheet. Back home,
:func:`import_answers` merges it keyed by (rater uid, position, label): importing twice changes
nothing, and on conflict the later answer wins.

The sheet has one row per output shown to a rater; answers about the whole item are repeated on
each of its rows: the comment, and in a pairwise study the pair choice (``preferred``: the label,
A = left or B = right, of the better output). Every answer is checked with
:mod:`studies.answer_rules`, as on the rating screen; a question the study does not ask is refused.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from studies import answer_rules
from studies.database import Database
from studies.errors import AnswerError, ExchangeError
from studies.files import atomic_write_bytes, neutralise_file_times, resolve_inside, sha256_bytes
from studies.options import Scale, StudyOptions, StudyRole, StudyStatus, output_label
from studies.rating import RaterSession
from studies.schema import (
    CommentAnswer,
    Output,
    PairAnswer,
    RankAnswer,
    Rater,
    RaterItem,
    RaterItemOutput,
    ScaleAnswer,
    Study,
    StudyCase,
    ValidityAnswer,
    utcnow,
)
from studies.study_setup import StudyInfo, study_info
from studies.unit_of_work import UnitOfWork

PACKAGE_FORMAT = "cleftlip-study-package"
PACKAGE_VERSION = 1
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
MAX_PACKAGE_ENTRY = 64 * 1024 * 1024
SCALE_COLUMNS = tuple(s.value for s in Scale)
SHEET_COLUMNS = ("rater_uid", "rater_initials", "position", "case", "label", "output_id", "valid",
                 "invalid_reason", "invalid_note", "rank", "preferred", *SCALE_COLUMNS, "comment", "completed",
                 "answered_at")
_HEX = re.compile(r"^[0-9a-f]{32}$")
_TRUE = {"1", "yes", "y", "true", "valid", "v"}
_FALSE = {"0", "no", "n", "false", "invalid", "i"}


@dataclass(frozen=True)
class MergeReport:
    rows: int
    inserted: int
    updated: int
    unchanged: int
    kept_local: int  # the local answer was newer than the imported one
    items_completed: int
    items_incomplete: int


# --------------------------------------------------------------------------- export


def export_package(db: Database, study_id: int, dest: Path, rater_ids: Sequence[int] | None = None) -> Path:
    """Zip the outputs, case images, rater orders and a blank answer sheet for another site."""
    with UnitOfWork(db) as uow:
        study = uow.studies.get(study_id)
        if study.role != StudyRole.HOME.value or study.status != StudyStatus.OPEN.value:
            raise ExchangeError("Only an open study of this site can be sent to another site.")
        raters = [r for r in uow.studies.raters(study_id) if rater_ids is None or r.id in set(rater_ids)]
        if not raters:
            raise ExchangeError("Choose at least one rater for the package.")
        cases = {c.id: c for c in uow.studies.cases(study_id)}
        outputs = uow.studies.outputs(study_id)
        files: dict[str, bytes] = {}
        manifest_cases = []
        for c in cases.values():
            entry = {"code": c.code, "original": None, "masked": None}
            for kind, rel, sha in (("original", c.original_path, c.original_sha256),
                                   ("masked", c.masked_path, c.masked_sha256)):
                if rel:
                    name = f"cases/{c.position:03d}_{kind}.png"
                    files[name] = _read_checked(db, rel, sha or "")
                    entry[kind] = {"file": name, "sha256": sha}
            manifest_cases.append(entry)
        manifest_outputs = []
        for out in outputs:
            name = f"outputs/{out.id}.png"
            files[name] = _read_checked(db, out.file_path, out.sha256)
            manifest_outputs.append({"id": out.id, "case": cases[out.study_case_id].code, "file": name,
                                     "sha256": out.sha256, "width": out.width, "height": out.height})
        manifest_raters, sheet_rows = [], []
        for rater in raters:
            items = uow.studies.items(rater.id)
            shown = uow.studies.item_outputs([i.id for i in items])
            by_item: dict[int, list[RaterItemOutput]] = {}
            for s in shown:
                by_item.setdefault(s.item_id, []).append(s)
            manifest_items = []
            for item in items:
                slots = [{"slot": s.slot, "label": output_label(s.slot), "output_id": s.output_id}
                         for s in by_item.get(item.id, [])]
                manifest_items.append({"position": item.position, "case": cases[item.study_case_id].code,
                                       "outputs": slots})
                for s in slots:
                    sheet_rows.append({"rater_uid": rater.uid, "rater_initials": rater.initials,
                                       "position": item.position, "case": cases[item.study_case_id].code,
                                       "label": s["label"], "output_id": s["output_id"]})
            manifest_raters.append({"uid": rater.uid, "name": rater.name, "initials": rater.initials,
                                    "site": rater.site, "items": manifest_items})
        manifest = {"format": PACKAGE_FORMAT, "version": PACKAGE_VERSION,
                    "study": {"uid": study.uid, "title": study.title, "description": study.description,
                              "options": json.loads(study.options_json)},
                    "cases": manifest_cases, "outputs": manifest_outputs, "raters": manifest_raters}
    files["manifest.json"] = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
    files["answer_sheet.csv"] = _sheet_bytes(sheet_rows)
    dest = Path(dest)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED if name.endswith((".json", ".csv")) else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    atomic_write_bytes(dest, buf.getvalue())
    return dest


def export_answers(db: Database, study_id: int, dest: Path, rater_ids: Sequence[int] | None = None) -> Path:
    """Write the answer sheet of this copy of the study, filled with every answer given so far."""
    with UnitOfWork(db) as uow:
        uow.studies.get(study_id)
        cases = {c.id: c.code for c in uow.studies.cases(study_id)}
        rows = []
        answers = uow.studies.answer_rows(study_id, rater_ids)
        pairs = uow.studies.pair_answers(sorted({a.item.id for a in answers}))
        for answer in answers:
            rater, item, s = answer.rater, answer.item, answer.shown
            v, r, c, pair = answer.validity, answer.rank, answer.comment, pairs.get(answer.item.id)
            times = [a.answered_at for a in (v, r, c, pair) if a is not None]
            times += [a.answered_at for a in answer.scales]
            row = {"rater_uid": rater.uid, "rater_initials": rater.initials, "position": item.position,
                   "case": cases[item.study_case_id], "label": output_label(s.slot),
                   "output_id": s.output_id,
                   "valid": "" if v is None else ("1" if v.valid else "0"),
                   "invalid_reason": "" if v is None or v.reason is None else v.reason,
                   "invalid_note": "" if v is None else v.note,
                   "rank": "" if r is None else str(r.rank),
                   "preferred": "" if pair is None else output_label(pair.preferred_slot),
                   "comment": "" if c is None else c.text,
                   "completed": "1" if item.completed_at is not None else "",
                   "answered_at": max(times).isoformat() if times else ""}
            for a in answer.scales:
                row[a.scale] = str(a.score)
            rows.append(row)
    atomic_write_bytes(Path(dest), _sheet_bytes(rows))
    return Path(dest)


# --------------------------------------------------------------------------- import at the other site


def import_package(db: Database, package: Path) -> StudyInfo:
    """Create (once) a satellite copy of another site's study so its raters can rate here."""
    try:
        zf = zipfile.ZipFile(package)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ExchangeError(f"{Path(package).name} is not a study package: {exc}") from exc
    with zf:
        manifest = _manifest(zf)
        s = manifest["study"]
        options = StudyOptions.from_json(json.dumps(s["options"]))
        with UnitOfWork(db) as uow:
            existing = uow.studies.by_uid(s["uid"])
            if existing is not None:
                if existing.role == StudyRole.HOME.value:
                    raise ExchangeError("This package is of a study owned by this site; import answers instead.")
                return study_info(uow, existing)
            study = Study(uid=s["uid"], title=s["title"], description=s.get("description", ""),
                          owner_name="(other site)", status=StudyStatus.OPEN.value,
                          role=StudyRole.SATELLITE.value, options_json=options.to_json(),
                          passphrase_hash=None, seal_salt=None, created_at=utcnow(), opened_at=utcnow())
            uow.studies.add(study)
            case_rows: dict[str, StudyCase] = {}
            for position, c in enumerate(manifest["cases"], 1):
                sc = StudyCase(study_id=study.id, case_id=None, code=str(c["code"]), position=position)
                for kind in ("original", "masked"):
                    if c.get(kind):
                        rel = f"studies/{study.uid}/cases/{position:03d}_{kind}.png"
                        _copy_entry(db, zf, c[kind]["file"], c[kind]["sha256"], rel)
                        setattr(sc, f"{kind}_path", rel)
                        setattr(sc, f"{kind}_sha256", c[kind]["sha256"])
                uow.studies.add(sc)
                case_rows[sc.code] = sc
            for o in manifest["outputs"]:
                if not _HEX.match(str(o["id"])) or o["case"] not in case_rows:
                    raise ExchangeError("The package lists an output that does not belong to it.")
                rel = f"studies/{study.uid}/outputs/{o['id']}.png"
                _copy_entry(db, zf, o["file"], o["sha256"], rel)
                uow.session.add(Output(id=o["id"], study_id=study.id, study_case_id=case_rows[o["case"]].id,
                                       file_path=rel, sha256=o["sha256"], width=int(o["width"]),
                                       height=int(o["height"])))
            uow.session.flush()
            for r in manifest["raters"]:
                rater = Rater(uid=r["uid"], study_id=study.id, name=r["name"], initials=r["initials"],
                              site=r.get("site", ""), created_at=utcnow())
                uow.studies.add(rater)
                for it in r["items"]:
                    item = RaterItem(rater_id=rater.id, position=int(it["position"]),
                                     study_case_id=case_rows[it["case"]].id, is_repeat=False)
                    uow.studies.add(item)
                    for slot in it["outputs"]:
                        uow.session.add(RaterItemOutput(item_id=item.id, slot=int(slot["slot"]),
                                                        output_id=slot["output_id"]))
            uow.commit()
            return study_info(uow, study)


# --------------------------------------------------------------------------- merge back home


def import_answers(db: Database, study_id: int, sheet: Path) -> MergeReport:
    """Merge a filled answer sheet into the study; all-or-nothing, idempotent."""
    rows = _read_sheet(Path(sheet))
    counts = {"inserted": 0, "updated": 0, "unchanged": 0, "kept_local": 0}
    touched: dict[tuple[int, int], bool] = {}
    with UnitOfWork(db) as uow:
        study = uow.studies.get(study_id)
        if study.status != StudyStatus.OPEN.value:
            raise ExchangeError("Answers can only be merged while the study is open.")
        options = StudyOptions.from_json(study.options_json)
        raters = {r.uid: r for r in uow.studies.raters(study_id)}
        item_cache: dict[int, dict[int, RaterItem]] = {}
        slot_cache: dict[int, dict[str, RaterItemOutput]] = {}
        chosen: dict[int, str] = {}  # item id -> the pair choice of its first row that gives one
        for n, row in enumerate(rows, 2):
            where = f"answer sheet line {n}"
            rater = raters.get(row.get("rater_uid", "").strip())
            if rater is None:
                raise ExchangeError(f"{where}: the rater is not part of this study.")
            if rater.id not in item_cache:
                items = uow.studies.items(rater.id)
                item_cache[rater.id] = {i.position: i for i in items}
                for s in uow.studies.item_outputs([i.id for i in items]):
                    slot_cache.setdefault(s.item_id, {})[output_label(s.slot)] = s
            item = item_cache[rater.id].get(_int(row.get("position"), where, "position"))
            shown = None if item is None else slot_cache.get(item.id, {}).get(row.get("label", "").strip().upper())
            if item is None or shown is None:
                raise ExchangeError(f"{where}: no such case position or output label for rater {rater.initials}.")
            if row.get("output_id") and row["output_id"].strip() != shown.output_id:
                raise ExchangeError(f"{where}: the output does not match this study's package.")
            at = _time(row.get("answered_at"), where)
            preferred = row.get("preferred", "").strip().upper()
            if preferred and chosen.setdefault(item.id, preferred) != preferred:
                raise ExchangeError(f"{where}: the pair choice {preferred} differs from the choice "
                                    f"{chosen[item.id]} on another line of the same pair.")
            touched[(rater.id, item.position)] = True
            _merge_row(uow, options, shown, item, slot_cache.get(item.id, {}), row, at, where, counts)
        uow.commit()
    completed = incomplete = 0
    for (rater_id, position) in touched:
        session = RaterSession(db, rater_id, verify_files=False)
        if session.item(position).completed:
            continue
        try:
            session.complete(position)
            completed += 1
        except AnswerError:
            incomplete += 1
    return MergeReport(rows=len(rows), items_completed=completed, items_incomplete=incomplete, **counts)


def _merge_row(uow: UnitOfWork, options: StudyOptions, shown: RaterItemOutput, item: RaterItem,
               slots: dict[str, RaterItemOutput], row: dict[str, str], at: datetime, where: str,
               counts: dict[str, int]) -> None:
    session = uow.session
    validity, ranks, scales = uow.studies.answers([shown.id])
    valid_text = row.get("valid", "").strip().lower()
    if valid_text:
        if not options.ask_validity:
            raise ExchangeError(f"{where}: this study does not ask about validity; leave 'valid' empty.")
        if valid_text not in _TRUE | _FALSE:
            raise ExchangeError(f"{where}: 'valid' must be 1 or 0.")
        valid = valid_text in _TRUE
        note = row.get("invalid_note", "") or ""
        try:
            reason = answer_rules.invalid_reason(valid, row.get("invalid_reason", "").strip() or None, note)
        except AnswerError as exc:
            raise ExchangeError(answer_rules.in_sheet(exc, where)) from exc
        _upsert(session, validity.get(shown.id), (valid, reason, note), at, counts,
                lambda: ValidityAnswer(item_output_id=shown.id, valid=valid, reason=reason, note=note,
                                       answered_at=at),
                lambda a: (a.valid, a.reason, a.note), ("valid", "reason", "note"))
    rank_text = row.get("rank", "").strip()
    if rank_text:
        if not options.ask_ranking:
            raise ExchangeError(f"{where}: this study does not ask for a ranking; leave 'rank' empty.")
        try:
            rank = answer_rules.rank(_int(rank_text, where, "rank"))
        except AnswerError as exc:
            raise ExchangeError(answer_rules.in_sheet(exc, where)) from exc
        _upsert(session, ranks.get(shown.id), (rank,), at, counts,
                lambda: RankAnswer(item_output_id=shown.id, rank=rank, answered_at=at),
                lambda a: (a.rank,), ("rank",))
    current = {a.scale: a for a in scales.get(shown.id, [])}
    for scale in options.scales:
        text = row.get(scale.value, "").strip()
        if not text:
            continue
        try:
            score = answer_rules.score(_int(text, where, scale.value))
        except AnswerError as exc:
            raise ExchangeError(answer_rules.in_sheet(exc, f"{where}, {scale.value}")) from exc
        _upsert(session, current.get(scale.value), (score,), at, counts,
                lambda: ScaleAnswer(item_output_id=shown.id, scale=scale.value, score=score, answered_at=at),
                lambda a: (a.score,), ("score",))
    pair_text = row.get("preferred", "").strip()
    if pair_text:
        try:
            answer_rules.asks_pairs(options)
            label = answer_rules.preference(pair_text, list(slots))
        except AnswerError as exc:
            raise ExchangeError(answer_rules.in_sheet(exc, f"{where}, preferred")) from exc
        slot = slots[label].slot
        _upsert(session, uow.studies.pair_answers([item.id]).get(item.id), (slot,), at, counts,
                lambda: PairAnswer(item_id=item.id, preferred_slot=slot, answered_at=at),
                lambda a: (a.preferred_slot,), ("preferred_slot",))
    comment = row.get("comment", "").strip()
    if comment and options.ask_comment:
        existing = uow.studies.comments([item.id]).get(item.id)
        _upsert(session, existing, (comment,), at, counts,
                lambda: CommentAnswer(item_id=item.id, text=comment, answered_at=at),
                lambda a: (a.text,), ("text",))
    session.flush()
    validity, ranks, _ = uow.studies.answers([shown.id])
    if shown.id in validity and not validity[shown.id].valid and shown.id in ranks:
        session.delete(ranks[shown.id])  # an invalid output has no rank, whichever answer won
        session.flush()


def _upsert(session: object, existing: object | None, values: tuple, at: datetime, counts: dict[str, int],
            make: object, current: object, names: tuple[str, ...]) -> None:
    if existing is None:
        session.add(make())  # type: ignore[attr-defined,operator]
        session.flush()  # type: ignore[attr-defined]
        counts["inserted"] += 1
    elif current(existing) == values:  # type: ignore[operator]
        counts["unchanged"] += 1
    elif at > existing.answered_at:  # type: ignore[attr-defined]
        for name, value in zip(names, values):
            setattr(existing, name, value)
        existing.answered_at = at  # type: ignore[attr-defined]
        counts["updated"] += 1
    else:
        counts["kept_local"] += 1


# --------------------------------------------------------------------------- helpers


def _read_checked(db: Database, rel: str, sha: str) -> bytes:
    data = resolve_inside(db.data_dir, rel).read_bytes()
    if sha256_bytes(data) != sha:
        raise ExchangeError(f"The study file {Path(rel).name} was changed since it was stored.")
    return data


def _manifest(zf: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(zf.read("manifest.json"))
    except (KeyError, ValueError) as exc:
        raise ExchangeError("The package has no readable manifest.json.") from exc
    if manifest.get("format") != PACKAGE_FORMAT:
        raise ExchangeError("This zip file is not a study package of this app.")
    if int(manifest.get("version", 0)) > PACKAGE_VERSION:
        raise ExchangeError("The package was made by a newer version of the app; please update.")
    return manifest


def _copy_entry(db: Database, zf: zipfile.ZipFile, name: str, sha: str, rel: str) -> None:
    try:
        info = zf.getinfo(name)
    except KeyError as exc:
        raise ExchangeError(f"The package lacks {name}.") from exc
    if info.file_size > MAX_PACKAGE_ENTRY:
        raise ExchangeError(f"{name} in the package is too large.")
    data = zf.read(info)
    if sha256_bytes(data) != sha:
        raise ExchangeError(f"{name} in the package is damaged (hash mismatch).")
    path = resolve_inside(db.data_dir, rel)
    atomic_write_bytes(path, data)
    neutralise_file_times(path)


def _sheet_bytes(rows: list[dict[str, object]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SHEET_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in SHEET_COLUMNS})
    return buf.getvalue().encode("utf-8")


def _read_sheet(path: Path) -> list[dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExchangeError(f"The answer sheet {path.name} cannot be read: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = {"rater_uid", "position", "label"} - set(reader.fieldnames or [])
    if missing:
        raise ExchangeError(f"The answer sheet lacks the columns {', '.join(sorted(missing))}.")
    return [{k: (v or "") for k, v in row.items() if k is not None} for row in reader]


def _int(text: str | None, where: str, what: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError as exc:
        raise ExchangeError(f"{where}: {what} must be a whole number.") from exc


def _time(text: str | None, where: str) -> datetime:
    if not text or not text.strip():
        return utcnow()
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ExchangeError(f"{where}: answered_at is not a date and time.") from exc
    if value.tzinfo is None:
        raise ExchangeError(f"{where}: answered_at needs a time zone (e.g. +00:00).")
    return value


