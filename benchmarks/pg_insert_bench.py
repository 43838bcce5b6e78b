"""Rows/s into PostgreSQL's occurrences table: SQLAlchemy executemany against MetaStore.insert_rows (COPY).

Example (a scratch schema is created and dropped):
    PYTHONPATH=. python benchmarks/pg_insert_bench.py postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import sys
import time

from sqlalchemy import text

from sensesearch.schema import occurrences

from sensesearch.store import MetaStore

ROWS = 100_000
SCHEMA = "sensesearch_insert_bench"


def main(url: str) -> None:
    store = MetaStore(f"{url}?schema={SCHEMA}")
    rows = [{"id": i, "sentence_id": i // 20, "word_id": i % 5000, "position": i % 20, "start": 5 * (i % 20),
             "end": 5 * (i % 20) + 4} for i in range(ROWS)]
    try:
        rates = {}
        for name in ("executemany", "insert_rows (COPY)"):
            with store.begin() as conn:
                conn.execute(text(f"TRUNCATE {SCHEMA}.occurrences"))
            started = time.perf_counter()
            with store.begin() as conn:
                if name == "executemany":
                    conn.execute(occurrences.insert(), rows)
                else:
                    columns = tuple(rows[0])
                    store.insert_rows(conn, occurrences, columns, [tuple(r.values()) for r in rows])
            rates[name] = ROWS / (time.perf_counter() - started)
        print(", ".join(f"{name}: {rate:,.0f} rows/s" for name, rate in rates.items()))
    finally:
        with store.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
        store.close()


if __name__ == "__main__":
    main(sys.argv[1])
