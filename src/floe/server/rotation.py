"""Rotating the secret key: a new key in the key ring, every stored bucket secret encrypted again.

Running servers keep working throughout: the old key stays in the ring (it still decrypts), and a
server that meets a secret sealed under a key it does not know reads its key file again
(:class:`floe.server.keys.SecretBox`), so it learns the new key without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

from floe.server.db import tables as t
from floe.server.db.engine import write_transaction
from floe.server.keys import SecretBox, read_key_ring, write_key_ring


@dataclass
class Rotation:
    """What a rotation did."""

    key_file: Path | None  # None: the keys came from FLOE_SECRET_KEY, nothing was written
    new_key: bool  # a new key was made and put first in the ring
    keys_in_ring: int
    reencrypted: int  # bucket secrets now sealed under the newest key


def reencrypt_bucket_secrets(engine: sa.Engine, box: SecretBox) -> int:
    """Seal every stored bucket secret again under ``box``'s newest key; returns how many.

    Each row is updated only if its secret is still the one read (compare and set), so a bucket
    config changed meanwhile by a running server is read again rather than overwritten.
    """
    with engine.connect() as conn:
        ids = conn.execute(sa.select(t.buckets.c.id).where(t.buckets.c.auth_secret.is_not(None))).scalars()
        ids = list(ids)
    done = 0
    for bucket_id in ids:
        while True:
            with write_transaction(engine) as conn:
                sealed = conn.execute(
                    sa.select(t.buckets.c.auth_secret).where(t.buckets.c.id == bucket_id)
                ).scalar()
                if sealed is None:  # deleted meanwhile, or no longer has a secret
                    break
                updated = conn.execute(
                    sa.update(t.buckets)
                    .where(t.buckets.c.id == bucket_id, t.buckets.c.auth_secret == sealed)
                    .values(auth_secret=box.reseal(sealed))
                )
                if updated.rowcount == 1:
                    done += 1
                    break
    return done


def rotate_secret_key(
    engine: sa.Engine, keys: list[bytes], key_file: Path | None, *, drop_old_keys: bool = False
) -> Rotation:
    """Rotate the key ring in ``key_file`` and re-encrypt every bucket secret under the newest key.

    With a key file: a new key goes first in the file (the others stay, to decrypt), then the
    secrets are re-encrypted. ``drop_old_keys`` makes no new key: it re-encrypts under the newest
    key and then leaves only that key in the file. Without a key file (``FLOE_SECRET_KEY``) nothing
    can be written: the secrets are re-encrypted under the first key of the variable.
    """
    if key_file is None:
        if drop_old_keys:
            raise ValueError(
                "the keys come from FLOE_SECRET_KEY: drop old keys by removing them from that variable"
            )
        box = SecretBox(keys)
        return Rotation(None, False, len(keys), reencrypt_bucket_secrets(engine, box))
    ring = read_key_ring(key_file)
    if drop_old_keys:
        box = SecretBox(ring)
        reencrypt_bucket_secrets(engine, box)
        write_key_ring(key_file, ring[:1])
        # anything a server sealed under an old key while the file changed: once more, with all keys
        done = reencrypt_bucket_secrets(engine, box)
        return Rotation(key_file, False, 1, done)
    ring = [Fernet.generate_key(), *ring]
    write_key_ring(key_file, ring)
    box = SecretBox(ring)
    return Rotation(key_file, True, len(ring), reencrypt_bucket_secrets(engine, box))
