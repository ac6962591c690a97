"""Counter-based random draws for line items: the same integers in Python and in SQLite SQL.

Row ``i`` of a job draws two 32-bit integers that depend only on the job's seed (64 bits,
drawn from the plan's ``random.Random``) and on ``i``::

    x = (low 32 bits of seed  + i * WEYL) mod 2**32      h1 = mix(x)
    y = (high 32 bits of seed + i * WEYL) mod 2**32      h2 = mix(y)

``WEYL`` is odd, so ``x`` (and ``y``) differ for every ``i`` < 2**32, and ``mix`` is
Chris Wellons' ``lowbias32`` (xorshift-multiply, a bijection on 32 bits). There is no
sequential state, so a job can be rendered by SQLite itself (``INSERT ... SELECT``, see
:mod:`billport.seed.sqlite_lines`) or in Python, in any chunks, with the same bytes.

SQLite has no XOR operator and its integers are signed 64-bit: a product that overflows
becomes a float. So ``a ^ b`` is written ``(a | b) - (a & b)``, and every product is a
32-bit value times a constant in ``[-2**31, 2**31)`` (a constant ``c`` >= 2**31 is used as
``c - 2**32``: the same product modulo 2**32). SQLite does not share common
subexpressions either, so each step that reads a value several times is its own subquery
(``LIMIT -1 OFFSET 0`` keeps the planner from flattening it back into copies).
"""

from __future__ import annotations

MASK = 0xFFFFFFFF
WEYL = 0x9E3779B9  # 2**32 / golden ratio, odd
MULTIPLIERS = (0x7FEB352D, 0x846CA68B)  # lowbias32: x ^= x >> 16; x *= m1; x ^= x >> 15; ...
SHIFTS = (16, 15, 16)
COUNTER_BLOCK = 1024  # rows of the counter table; a chunk is at most its square
NO_FLATTEN = "LIMIT -1 OFFSET 0"


def mix(x: int) -> int:
    """``lowbias32``: a bijective 32-bit integer hash."""
    x ^= x >> 16
    x = (x * 0x7FEB352D) & MASK
    x ^= x >> 15
    x = (x * 0x846CA68B) & MASK
    return x ^ (x >> 16)


def draw(seed: int, index: int) -> tuple[int, int]:
    """The two 32-bit draws of row ``index`` of the job with 64-bit ``seed``."""
    low, high = seed_halves(seed)
    step = index * WEYL
    return mix((low + step) & MASK), mix((high + step) & MASK)


def _signed(constant: int) -> int:
    """``constant`` mod 2**32 as a multiplier in [-2**31, 2**31): products fit in int64."""
    return constant - 2**32 if constant >= 2**31 else constant


def _xorshift(column: str, shift: int) -> str:
    return f"(({column} | ({column} >> {shift})) - ({column} & ({column} >> {shift})))"


def _multiply(expression: str, constant: int) -> str:
    return f"(({expression} * {_signed(constant)}) & {MASK})"


def counter_sql(start: str, count: str) -> str:
    """Rows ``i`` = ``start`` ... ``start + count - 1`` in order (``start``/``count`` are SQL).

    Reads the TEMP table ``seed_counter`` (``k`` = 0 ... COUNTER_BLOCK - 1, see
    :func:`counter_rows`) joined to itself: an order of magnitude cheaper per row than a
    recursive CTE.
    """
    block = COUNTER_BLOCK
    return (
        f"SELECT {start} + a.k * {block} + b.k AS i "
        f"FROM seed_counter AS a CROSS JOIN seed_counter AS b "
        f"WHERE a.k <= ({count} - 1) / {block} AND a.k * {block} + b.k < {count}"
    )


def counter_rows() -> list[tuple[int]]:
    return [(k,) for k in range(COUNTER_BLOCK)]


def seed_halves(seed: int) -> tuple[int, int]:
    """The low and high 32 bits of a job seed (SQLite binds at most 63-bit integers)."""
    return seed & MASK, (seed >> 32) & MASK


def draws_sql(counter: str, low: str, high: str) -> str:
    """A subquery of ``(i, h1, h2)`` for the rows of ``counter``; ``low``/``high`` are SQL
    for the seed's halves."""
    weyl = _signed(WEYL)
    inner = (
        f"SELECT i, ({low} + i * {weyl}) & {MASK} AS a, "
        f"({high} + i * {weyl}) & {MASK} AS b FROM ({counter}) {NO_FLATTEN}"
    )
    for shift, constant in zip(SHIFTS, MULTIPLIERS, strict=False):
        inner = (
            f"SELECT i, {_multiply(_xorshift('a', shift), constant)} AS a, "
            f"{_multiply(_xorshift('b', shift), constant)} AS b FROM ({inner}) {NO_FLATTEN}"
        )
    last = SHIFTS[-1]
    return (
        f"SELECT i, {_xorshift('a', last)} AS h1, {_xorshift('b', last)} AS h2 "
        f"FROM ({inner}) {NO_FLATTEN}"
    )
