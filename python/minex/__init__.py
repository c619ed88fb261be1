"""minex for Python: a minex policy applied to Arrow record batches.

The tokens, ciphertexts, rejects and k-anonymity suppression are made by the Rust core
(``minex_core``) that the ``minex`` command line uses, so they are byte-identical to
``minex run``'s. Arrow data crosses without copies (the Arrow PyCapsule interface), and the
GIL is released while a batch is transformed.

    import minex
    policy = minex.Policy.from_file("schemas/school-supplier.yaml")
    tx = minex.Transformer(policy, key_file="minex.key")     # or key_hex=..., else MINEX_KEY
    out = tx.transform(batch)                                 # a pyarrow.RecordBatch
    out.batch, out.rejects, out.filtered, out.suppressed

Errors are subclasses of ``MinexError``, one per error category of the CLI (``PolicyError``,
``DataError``, ``MasterKeyError``, ...), with the CLI's messages: a location, never a value.
Spark: ``minex.spark.minimize`` (``pip install "./python[spark]"``).
"""

from ._minex import (
    ClassCounts,
    DataError,
    Gate,
    InternalError,
    IoError,
    LintError,
    MasterKeyError,
    MinexError,
    Policy,
    PolicyError,
    PrivacyError,
    Transformer,
    TransformOutput,
    UsageError,
    __version__,
)

__all__ = [
    "ClassCounts",
    "DataError",
    "Gate",
    "InternalError",
    "IoError",
    "LintError",
    "MasterKeyError",
    "MinexError",
    "Policy",
    "PolicyError",
    "PrivacyError",
    "Transformer",
    "TransformOutput",
    "UsageError",
    "__version__",
]
