"""The log's signing key on disk: one line, the Go note signer-key encoding
(`PRIVATE+KEY+<name>+<key ID>+<base64>`, see transparency/keys.py), readable by the owner
only. Created on first use when absent; its name is the log's origin."""

from __future__ import annotations

import os
from pathlib import Path

from ..transparency.keys import SignerKey
from ..transparency.note import NoteError


class KeyFileError(Exception):
    """A key file that cannot be read, or names another log than the one configured."""


def load(path: Path, origin: str) -> SignerKey:
    """The key in an existing file, for the log `origin`."""
    try:
        key = SignerKey.parse(path.read_text().strip())
    except (OSError, NoteError) as error:
        raise KeyFileError(f"the log key file {path} is not a signer key: {error}") from None
    if key.name != origin:
        raise KeyFileError(f"the log key in {path} is for {key.name!r}, not the configured origin {origin!r}")
    return key


def load_or_create(path: Path, origin: str) -> SignerKey:
    if path.exists():
        return load(path, origin)
    try:
        key = SignerKey.generate(origin)
    except NoteError as error:
        raise KeyFileError(f"the log origin {origin!r} cannot name a key: {error}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written under another name and renamed: a crash never leaves half a key, and two
    # processes creating it at once end with one key both then read.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key.encode() + "\n")
    try:
        os.link(temporary, path)  # fails if another process made it first
    except FileExistsError:
        os.unlink(temporary)
        return load_or_create(path, origin)
    os.unlink(temporary)
    return key
