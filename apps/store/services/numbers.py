"""Order numbers people can read aloud and type: ``MX-`` and eight characters of
Crockford's base 32 (no I, L, O or U), e.g. ``MX-7K4Q-9ZT2``.

They are random rather than counted so that concurrent checkouts never wait on one
counter row, and they do not tell a buyer how many orders a market has. The unique
constraint on ``Order.order_number`` is the last word; at 32⁸ ≈ 10¹² numbers a clash
is rare enough that the caller simply draws again.
"""

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_order_number() -> str:
    characters = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"MX-{characters[:4]}-{characters[4:]}"
