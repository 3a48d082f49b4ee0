"""The verifiable ledger's pure core: an RFC 9162 Merkle tree over stored
nodes with inclusion and consistency proofs, and C2SP checkpoints, signed notes and
witness cosignatures with Ed25519 keys. Standard library and `cryptography` only, no I/O.

`proofs` alone (standard library only) is what an auditor needs to check proofs;
`note`, `checkpoint`, `cosignature` and `keys` add checkpoint signatures. See
docs/transparency.md."""

from .checkpoint import Checkpoint, Cosignature, VerifiedCheckpoint, open_checkpoint, sign_checkpoint
from .keys import SIG_COSIGNATURE_V1, SIG_ED25519, SignerKey, VerifierKey
from .merkle import MemoryNodeStore, MerkleTree, NodeStore
from .note import Note, NoteError, Signature, VerifiedNote, open_note
from .proofs import EMPTY_ROOT, ProofError, leaf_hash, mth, node_hash, verify_consistency, verify_inclusion

__all__ = [
    "EMPTY_ROOT", "SIG_COSIGNATURE_V1", "SIG_ED25519", "Checkpoint", "Cosignature", "MemoryNodeStore", "MerkleTree",
    "Note", "NoteError", "NodeStore", "ProofError", "Signature", "SignerKey", "VerifiedCheckpoint", "VerifiedNote",
    "VerifierKey", "leaf_hash", "mth", "node_hash", "open_checkpoint", "open_note", "sign_checkpoint",
    "verify_consistency", "verify_inclusion",
]
