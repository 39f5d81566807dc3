"""Valid Unified Social Credit Codes for tests (GB 32100)."""

from __future__ import annotations

import random

from stdnum.cn import uscc

# GB 32100 characters: digits and capitals but I, O, S, V, Z.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_random = random.SystemRandom()


def random_uscc() -> str:
    """A company's code (91: industry and commerce, enterprise; region 110000, Beijing), a
    random organisation part, and its GB 32100 check digit; one of about 10^13."""
    number = "91110000" + "".join(_random.choice(ALPHABET) for _ in range(9))
    return number + uscc.calc_check_digit(number)


def random_bank_account() -> str:
    """A corporate bank account number: 19 digits."""
    return str(_random.randrange(10**18, 10**19))
