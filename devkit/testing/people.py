"""Valid identity documents for tests (GB 11643 resident ID numbers)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from stdnum.cn import ric

# Beijing Dongcheng: a region code python-stdnum knows for every birth year.
REGION = "110101"
_random = random.SystemRandom()


def resident_id(born: date, *, serial: int = 1) -> str:
    """The 18-character resident ID number of someone born that day (valid checksum)."""
    number = f"{REGION}{born:%Y%m%d}{serial % 1000:03d}"
    return number + ric.calc_check_digit(number + "0")


def random_resident_id() -> str:
    """An adult's resident ID number, drawn from about 15 million (born 1960-1999)."""
    born = date(1960, 1, 1) + timedelta(days=_random.randrange(40 * 365))
    return resident_id(born, serial=_random.randrange(1000))
