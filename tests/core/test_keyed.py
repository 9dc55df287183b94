"""The keyed hash is plain HMAC-SHA256, and one message does not leak into the next."""

from __future__ import annotations

import hashlib
import hmac

from bridge.core.keyed import KeyedHash


def test_each_message_is_hashed_alone_under_the_secret() -> None:
    keyed = KeyedHash(b"app-secret")
    for body in (b'{"entry": []}', b"", "ação".encode()):
        assert keyed.hexdigest(body) == hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    assert keyed.hexdigest(b"a") == keyed.hexdigest(b"a") != KeyedHash(b"other").hexdigest(b"a")
