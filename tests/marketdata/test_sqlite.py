"""The portable path: SQLite (plain table, executemany upsert, ORM read, numpy resampling)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.marketdata.builders import HEADER

# Two full hours of 15m bars, then one bar of a third hour (an incomplete edge bucket).
LINES = [
    "2024-01-01T00:00:00Z,10,12,9,11,1",
    "2024-01-01T00:15:00Z,11,15,10,14,2",
    "2024-01-01T00:30:00Z,14,14,8,9,3",
    "2024-01-01T00:45:00Z,9,10,7,8,4",
    "2024-01-01T01:00:00Z,8,9,6,7,5",
    "2024-01-01T01:15:00Z,7,20,7,19,6",
    "2024-01-01T01:30:00Z,19,19,18,18,1",
    "2024-01-01T01:45:00Z,18,18,5,6,1",
    "2024-01-01T02:00:00Z,6,90,1,2,100",
]

READ = (
    "import json; from marketdata.read import candles_load;"
    "from marketdata.models import CandleSeries;"
    "c = candles_load('SQL-BTC', '15m'); h = candles_load('SQL-BTC', '1h');"
    "s = CandleSeries.objects.get(symbol='SQL-BTC');"
    "print(json.dumps({'n15': len(c), 'ts0': int(c.ts[0]), 'close': c.close.tolist(),"
    " 'hourly': [h.ts.tolist(), h.open.tolist(), h.high.tolist(), h.low.tolist(), h.close.tolist(),"
    " h.volume.tolist()], 'rows': s.row_count, 'version': s.load_version}))"
)


def _manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_it_loads_reads_and_resamples_on_sqlite(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    # --skip-checks: this test is about market data, not every other app's URLs and models.
    migrate = _manage(["migrate", "--noinput", "-v", "0", "--skip-checks"], env)
    assert migrate.returncode == 0, migrate.stderr
    csv = tmp_path / "bars.csv"
    csv.write_text("\n".join([HEADER, *LINES]) + "\n")
    first = _manage(
        ["load_candles", str(csv), "--symbol", "SQL-BTC", "--timeframe", "15m", "--skip-checks"], env
    )
    assert first.returncode == 0, first.stderr
    assert "9 rows: 9 inserted, 0 updated, 0 unchanged" in first.stdout
    csv.write_text("\n".join([HEADER, *LINES[:-1], "2024-01-01T02:00:00Z,6,90,1,3,100"]) + "\n")
    second = _manage(
        ["load_candles", str(csv), "--symbol", "SQL-BTC", "--timeframe", "15m", "--skip-checks"], env
    )
    assert "9 rows: 0 inserted, 1 updated, 8 unchanged" in second.stdout, second.stdout + second.stderr
    result = _manage(["shell", "-c", READ], env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert (out["n15"], out["ts0"], out["rows"], out["version"]) == (9, 1_704_067_200_000, 9, 2)
    assert out["close"][-1] == 3.0
    assert out["hourly"] == [
        [1_704_067_200_000, 1_704_070_800_000],
        [10.0, 8.0],
        [15.0, 20.0],
        [7.0, 5.0],
        [8.0, 6.0],
        [10.0, 13.0],
    ]
