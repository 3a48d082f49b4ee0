"""Signing keys on disk: one line, the Go note signer-key encoding
(`PRIVATE+KEY+<name>+<key ID>+<base64>`, see transparency/keys.py), readable by the owner
only. The log's is created on first use when absent, and its name is the log's origin; a
witness's is made once by `dangol witness keygen`."""

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
    if not create_key_file(path, key):  # another process made it first: theirs is the key
        return load_or_create(path, origin)
    return key


def create_key_file(path: Path, key: SignerKey) -> bool:
    """Writes `key` to a new file at `path`, readable by its owner only; False, and
    nothing written, if the file exists: a key file is never replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written under another name and linked into place: a crash never leaves half a key,
    # and of two processes creating it at once one wins and the other learns it.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key.encode() + "\n")
        os.link(temporary, path)  # fails if the file exists
    except FileExistsError:
        return False
    finally:
        os.unlink(temporary)
    return True
