"""Generate the entropy coding tables of Annex B (informative).

The normative tables are the bytes of ``refdec/data/gaussian_tables.olt``, identified
by their SHA-256 (``refdec.tables.TABLES_SHA256``). This script documents how they
were derived and regenerates them byte for byte::

    python -m tools.make_tables            # writes the file, prints its SHA-256
    python -m tools.make_tables --check    # only compares with the shipped file

Derivation (WD Annex B.2), for table ``i = 0..63``:

1. Scale ``sigma_i = exp(ln 0.11 + i * (ln 256 - ln 0.11) / 63)`` (geometric from
   0.11 to 256).
2. Radius ``R_i = ceil(6.109 * sigma_i)``. A zero-mean Gaussian puts mass
   ``erfc(6.109 / sqrt 2) ~ 1.0e-9`` outside ``+-6.109 sigma``, so values needing the
   escape (``|v| > R_i``) have probability below about ``1e-9``.
3. Probabilities of the ``nsym = 2 R_i + 2`` symbols: value ``v = -R_i..R_i`` gets the
   mass of the unit bin ``[v - 1/2, v + 1/2)`` under ``N(0, sigma_i^2)``, computed as
   ``(erf((|v| + 1/2) / (sigma sqrt 2)) - erf((|v| - 1/2) / (sigma sqrt 2))) / 2``
   (``math.erf``, float64; evaluated for ``|v|`` so the table is exactly symmetric);
   the escape symbol gets the remaining tail mass ``erfc((R_i + 1/2) / (sigma sqrt 2))``.
   The probabilities are then divided by their sum so they add up to 1.
4. Quantisation to 16-bit frequencies (sum exactly 65536, every frequency >= 1):
   every symbol first gets 1; the remaining ``B = 65536 - nsym`` is apportioned by the
   largest-remainder method: symbol ``k`` gets ``floor(p_k * B)``, and the
   ``B - sum floor(p_k * B)`` units still missing go one each to the symbols with the
   largest fractional parts ``p_k * B - floor(p_k * B)``, ties broken by the smaller
   symbol index.
5. ``cdf[0] = 0``, ``cdf[k + 1] = cdf[k] + freq[k]`` (length ``2 R_i + 3``, last entry
   65536), stored as record ``cdf.i`` (int32); the radii as record ``radius``
   (int32[64]). Records are written in the order ``radius, cdf.0 .. cdf.63`` in the
   container of Annex C.2 with magic ``b"OLTB"``.

``math.erf`` comes from the platform's C library, whose last-bit accuracy is not
standardised; that is why the shipped bytes, not this script, are normative.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from pathlib import Path

import numpy as np

from refdec.container import write_container

NUM_TABLES = 64
SIGMA_MIN = 0.11
SIGMA_MAX = 256.0
TAIL_FACTOR = 6.109
"""Radius in units of sigma; two-sided Gaussian tail mass erfc(6.109 / sqrt 2) ~ 1e-9."""
PRECISION = 16
TOTAL = 1 << PRECISION
MAGIC = b"OLTB"
OUTPUT = Path(__file__).resolve().parent.parent / "refdec" / "data" / "gaussian_tables.olt"


def table_sigma(i: int) -> float:
    """Scale of table ``i`` (Annex B.2 step 1)."""
    step = (math.log(SIGMA_MAX) - math.log(SIGMA_MIN)) / (NUM_TABLES - 1)
    return math.exp(math.log(SIGMA_MIN) + i * step)


def table_radius(i: int) -> int:
    """Largest magnitude coded without escape by table ``i`` (Annex B.2 step 2)."""
    return math.ceil(TAIL_FACTOR * table_sigma(i))


def table_pmf(i: int) -> list[float]:
    """Probabilities of symbols ``0..2R`` (values ``-R..R``) and the escape (step 3)."""
    sigma, radius = table_sigma(i), table_radius(i)
    scale = sigma * math.sqrt(2.0)
    half = [
        0.5 * (math.erf((a + 0.5) / scale) - math.erf((a - 0.5) / scale)) for a in range(radius + 1)
    ]
    pmf = half[:0:-1] + half + [math.erfc((radius + 0.5) / scale)]
    total = math.fsum(pmf)
    return [p / total for p in pmf]


def quantise(pmf: list[float]) -> list[int]:
    """Frequencies >= 1 summing to 65536 by the largest-remainder method (step 4)."""
    budget = TOTAL - len(pmf)
    share = [p * budget for p in pmf]
    freq = [1 + math.floor(s) for s in share]
    missing = TOTAL - sum(freq)
    # Hamilton apportionment: at most len(pmf) units are missing after flooring.
    assert 0 <= missing <= len(pmf), missing
    by_remainder = sorted(range(len(pmf)), key=lambda k: (-(share[k] - math.floor(share[k])), k))
    for k in by_remainder[:missing]:
        freq[k] += 1
    return freq


def build_tables() -> dict[str, np.ndarray]:
    """All records of the table file, in file order (step 5)."""
    radii = [table_radius(i) for i in range(NUM_TABLES)]
    records: dict[str, np.ndarray] = {"radius": np.array(radii, dtype=np.int32)}
    for i in range(NUM_TABLES):
        freq = quantise(table_pmf(i))
        records[f"cdf.{i}"] = np.concatenate([[0], np.cumsum(freq)]).astype(np.int32)
    return records


def table_file_bytes() -> bytes:
    """The complete table file (Annex B.2)."""
    return write_container(build_tables(), MAGIC)


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` verify) the table file and print its SHA-256."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help="file to write")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    data = table_file_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if args.check:
        same = args.output.is_file() and args.output.read_bytes() == data
        print(f"{digest} {'matches' if same else 'DIFFERS FROM'} {args.output}")
        return 0 if same else 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"{digest}  {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
