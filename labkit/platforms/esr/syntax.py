"""The design's IPsec algorithm names as ESR spells them: globals of this platform's templates, and the lint's way
back from a parsed configuration."""

from __future__ import annotations

ESR_HASH = {"sha1": "sha1", "sha256": "sha2-256", "sha384": "sha2-384", "sha512": "sha2-512"}
ESR_CIPHER = {"aes128": "aes128", "aes256": "aes256", "aes128gcm16": "aes128gcm", "aes256gcm16": "aes256gcm"}

FILTERS: dict[str, object] = {}
GLOBALS = {"esr_hash": ESR_HASH, "esr_cipher": ESR_CIPHER}
