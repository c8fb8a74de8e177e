"""SEPA collection run at scale: plan, record, write and validate a run of N active mandates.

    python benchmarks/bench_sepa.py            1,000,000 mandates, one repeat
    python benchmarks/bench_sepa.py --quick    50,000 mandates, three repeats
    python benchmarks/bench_sepa.py --n 200000 --repeats 2 [--url postgresql+psycopg://...]

The baseline is bare lxml writing the same pain.008 XML from in-memory tuples (one tree, tostring),
measured in the same process. Setup (donors, commitments, mandates inserted with Core) is not timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lxml import etree  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from donorcrm import migrate  # noqa: E402
from donorcrm.commitments.models import Commitment, CommitmentAmount  # noqa: E402
from donorcrm.config import Settings  # noqa: E402
from donorcrm.db import make_engine, utcnow  # noqa: E402
from donorcrm.donors.models import Donor  # noqa: E402
from donorcrm.sepa import service  # noqa: E402
from donorcrm.sepa.models import Mandate  # noqa: E402

RUN_ON = dt.date(2026, 12, 10)
NS = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"
CHUNK = 50_000


def _valid_ibans(n: int) -> list[str]:
    """Valid Dutch IBANs, computed (mod 97) for speed."""
    banks = ("ABNA", "INGB", "RABO", "SNSB", "ASNB", "TRIO", "KNAB", "BUNQ")
    out = []
    for i in range(n):
        bank = banks[i % len(banks)]
        account = f"{i + 1:010d}"
        bban = bank + account
        digits = "".join(str(int(ch, 36)) for ch in bban + "NL00")
        check = 98 - int(digits) % 97
        out.append(f"NL{check:02d}{bban}")
    return out


def populate(url: str, n: int) -> None:
    engine = make_engine(url)
    now = utcnow()
    ibans = _valid_ibans(n)
    firsts = ("Jan", "Zoë", "Søren", "Łucja", "Anna", "Mohammed", "Fatma", "Pieter")
    with engine.begin() as conn:
        for start in range(0, n, CHUNK):
            ids = range(start + 1, min(n, start + CHUNK) + 1)
            conn.execute(insert(Donor.__table__), [{  # type: ignore[attr-defined]
                "id": i, "kind": "person", "first_name": firsts[i % 8], "last_name": f"Donor{i}", "language": "nl",
                "country": "NL", "status": "active", "created_at": now, "updated_at": now,
                "email": f"d{i}@example.org"} for i in ids])
            conn.execute(insert(Commitment.__table__), [{  # type: ignore[attr-defined]
                "id": i, "donor_id": i, "amount_minor": 500 + (i % 40) * 125, "currency": "EUR",
                "frequency": "monthly", "collection_day": 1 + i % 28, "starts_on": dt.date(2025, 1, 1),
                "route": "sepa", "status": "active", "consecutive_failures": 0, "created_at": now,
                "updated_at": now} for i in ids])
            conn.execute(insert(CommitmentAmount.__table__), [{  # type: ignore[attr-defined]
                "commitment_id": i, "effective_from": dt.date(2025, 1, 1), "amount_minor": 500 + (i % 40) * 125,
                "created_at": now} for i in ids])
            conn.execute(insert(Mandate.__table__), [{  # type: ignore[attr-defined]
                "id": i, "donor_id": i, "commitment_id": i, "reference": f"DCRM-{i:09d}",
                "creditor_id": "NL98ZZZ999999999999", "creditor_name": "Stichting Vluchtelingenhulp Demo",
                "scheme": "CORE", "kind": "recurrent", "iban": ibans[i - 1], "bic": None,
                "holder": f"{firsts[i % 8]} Donor{i}", "signed_on": dt.date(2024, 12, 1), "status": "active",
                "last_presented_on": dt.date(2026, 11, 2), "amended_to_other_bank": False,
                "created_at": now, "updated_at": now} for i in ids])
    engine.dispose()


def bare_lxml(rows: list[tuple]) -> bytes:
    """The baseline: the same document built as one lxml tree and serialised."""
    S = etree.SubElement
    root = etree.Element(f"{{{NS}}}Document", nsmap={None: NS})
    init = S(root, "CstmrDrctDbtInitn")
    hdr = S(init, "GrpHdr")
    S(hdr, "MsgId").text = "BASELINE"
    S(hdr, "CreDtTm").text = "2026-12-10T06:00:00"
    S(hdr, "NbOfTxs").text = str(len(rows))
    total = sum(r[1] for r in rows)
    S(hdr, "CtrlSum").text = f"{total // 100}.{total % 100:02d}"
    S(S(hdr, "InitgPty"), "Nm").text = "Stichting Vluchtelingenhulp Demo"
    groups: dict[dt.date, list[tuple]] = {}
    for r in rows:
        groups.setdefault(r[6], []).append(r)
    for due, members in sorted(groups.items()):
        p = S(init, "PmtInf")
        S(p, "PmtInfId").text = f"B-{due}"
        S(p, "PmtMtd").text = "DD"
        S(p, "NbOfTxs").text = str(len(members))
        sub = sum(r[1] for r in members)
        S(p, "CtrlSum").text = f"{sub // 100}.{sub % 100:02d}"
        tp = S(p, "PmtTpInf")
        S(S(tp, "SvcLvl"), "Cd").text = "SEPA"
        S(S(tp, "LclInstrm"), "Cd").text = "CORE"
        S(tp, "SeqTp").text = "RCUR"
        S(p, "ReqdColltnDt").text = due.isoformat()
        S(S(p, "Cdtr"), "Nm").text = "Stichting Vluchtelingenhulp Demo"
        S(S(S(p, "CdtrAcct"), "Id"), "IBAN").text = "NL91ABNA0417164300"
        S(S(S(p, "CdtrAgt"), "FinInstnId"), "BIC").text = "ABNANL2A"
        S(p, "ChrgBr").text = "SLEV"
        o = S(S(S(S(p, "CdtrSchmeId"), "Id"), "PrvtId"), "Othr")
        S(o, "Id").text = "NL98ZZZ999999999999"
        S(S(o, "SchmeNm"), "Prtry").text = "SEPA"
        for e2e, amount, ref, signed, name, iban, _due in members:
            tx = S(p, "DrctDbtTxInf")
            S(S(tx, "PmtId"), "EndToEndId").text = e2e
            a = S(tx, "InstdAmt", Ccy="EUR")
            a.text = f"{amount // 100}.{amount % 100:02d}"
            m = S(S(tx, "DrctDbtTx"), "MndtRltdInf")
            S(m, "MndtId").text = ref
            S(m, "DtOfSgntr").text = signed.isoformat()
            S(m, "AmdmntInd").text = "false"
            S(S(S(S(tx, "DbtrAgt"), "FinInstnId"), "Othr"), "Id").text = "NOTPROVIDED"
            S(S(tx, "Dbtr"), "Nm").text = name
            S(S(S(tx, "DbtrAcct"), "Id"), "IBAN").text = iban
            S(S(tx, "RmtInf"), "Ustrd").text = "Gift 01-2027"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def new_database(base_url: str | None, tmp: Path) -> tuple[str, object]:
    if not base_url:
        return f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:6]}.db'}", None
    name = f"dcrm_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(base_url).set(database=name).render_as_string(hide_password=False), (admin, name)


def drop_database(handle: object) -> None:
    if handle is None:
        return
    admin, name = handle  # type: ignore[misc]
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def one_repeat(n: int, base_url: str | None, tmp: Path) -> dict[str, float]:
    url, handle = new_database(base_url, tmp)
    try:
        migrate.upgrade(url)
        t = time.perf_counter()
        populate(url, n)
        print(f"  setup: {n:,} donors, commitments and mandates inserted in {time.perf_counter() - t:.1f} s", flush=True)
        engine = make_engine(url)
        settings = replace(Settings(), database_url=url)
        timings: dict[str, float] = {}
        gc.collect()
        start, cpu = time.perf_counter(), time.process_time()
        result = service.run_collections(RUN_ON, settings=settings, engine=engine, timings=timings)
        timings["whole"] = time.perf_counter() - start
        timings["whole_cpu"] = time.process_time() - cpu
        assert result.n_collections == n, (result.n_collections, n)
        size = sum(len(c) for (c,) in engine.connect().execute(text("SELECT content FROM sepa_file")))
        print(f"  run: {result.n_collections:,} collections in {len(result.files)} files, "
              f"{size / 1e6:.0f} MB; " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()), flush=True)
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(text(
                "SELECT end_to_end_id, amount_minor, mandate_reference, mandate_signed_on, debtor_name, debtor_iban,"
                " due_on FROM sepa_collection ORDER BY due_on, commitment_id"))]
        rows = [(a, b, c, d if isinstance(d, dt.date) else dt.date.fromisoformat(d), e, f,
                 g if isinstance(g, dt.date) else dt.date.fromisoformat(g)) for a, b, c, d, e, f, g in rows]
        engine.dispose()
        gc.collect()
        start, cpu = time.perf_counter(), time.process_time()
        xml = bare_lxml(rows)
        timings["baseline"] = time.perf_counter() - start
        timings["baseline_cpu"] = time.process_time() - cpu
        print(f"  baseline: bare lxml wrote {len(xml) / 1e6:.0f} MB in {timings['baseline']:.1f} s", flush=True)
        del xml, rows
        return timings
    finally:
        drop_database(handle)
        if not base_url:
            for p in tmp.glob("bench-*.db*"):
                p.unlink()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="50,000 mandates, 3 repeats")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--url", default=os.environ.get("DONORCRM_BENCH_POSTGRES_URL"),
                        help="PostgreSQL server URL (default: a SQLite file)")
    args = parser.parse_args()
    n = args.n or (50_000 if args.quick else 1_000_000)
    repeats = args.repeats or (3 if args.quick else 1)
    print(f"bench_sepa: {n:,} active mandates, {repeats} repeat(s), {'PostgreSQL' if args.url else 'SQLite'}")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(repeats):
            print(f"repeat {k + 1}", flush=True)
            runs.append(one_repeat(n, args.url, Path(tmp)))
    med = {key: statistics.median(r.get(key, 0.0) for r in runs) for key in runs[0]}
    base = med["baseline"]
    for key in ("plan", "record", "write", "validate", "store", "finish"):
        print(f"RESULT sepa_{key}_{n} seconds={med.get(key, 0.0):.2f} baseline={base:.2f} "
              f"ratio={med.get(key, 0.0) / base:.2f}")
    print(f"RESULT sepa_run_{n} seconds={med['whole']:.2f} baseline={base:.2f} ratio={med['whole'] / base:.2f}")
    # CPU seconds of this process: steadier than wall time on a shared machine (SQLite runs in-process).
    print(f"RESULT sepa_run_cpu_{n} seconds={med['whole_cpu']:.2f} baseline={med['baseline_cpu']:.2f} "
          f"ratio={med['whole_cpu'] / med['baseline_cpu']:.2f}")


if __name__ == "__main__":
    main()
