"""Type stubs of the native module (the Rust binding of minex_core)."""

from os import PathLike
from typing import Any, Dict, List, Optional, Union

import pyarrow

__version__: str

class MinexError(Exception):
    """Any minex error. ``exit_code`` is the CLI's exit code for its category."""

    exit_code: int
    category: str

class UsageError(MinexError): ...
class PolicyError(MinexError): ...
class DataError(MinexError): ...
class IoError(MinexError): ...
class MasterKeyError(MinexError): ...
class PrivacyError(MinexError): ...
class LintError(MinexError): ...
class InternalError(MinexError): ...

class Policy:
    """A validated policy."""

    @staticmethod
    def from_yaml(text: str) -> "Policy":
        """Parses and validates policy YAML; every problem is reported at once (PolicyError)."""
    @staticmethod
    def from_file(path: Union[str, "PathLike[str]"]) -> "Policy":
        """Reads and validates a policy file (placeholder domain refused, as by ``minex run``)."""
    @property
    def name(self) -> str: ...
    @property
    def domain(self) -> str: ...
    @property
    def text(self) -> str:
        """The policy's YAML text."""
    @property
    def sha256(self) -> str: ...
    @property
    def has_k_anonymity(self) -> bool: ...

class TransformOutput:
    """What the transform of one batch produced."""

    @property
    def batch(self) -> pyarrow.RecordBatch:
        """The extract's rows (rules applied, rejected and suppressed rows removed)."""
    @property
    def rejects(self) -> pyarrow.Table:
        """One row per invalid value: ``row`` (int64, 0-based in the batch), ``column``, ``reason``."""
    @property
    def filtered(self) -> int: ...
    @property
    def suppressed(self) -> int: ...
    @property
    def rejected(self) -> int: ...
    @property
    def rows_in(self) -> int: ...
    @property
    def filtered_by_rule(self) -> Dict[str, int]: ...
    @property
    def rejected_by_reason(self) -> Dict[str, int]: ...
    @property
    def nulled(self) -> Dict[str, int]: ...

class ClassCounts:
    """Rows per k-anonymity class; mergeable across partitions, serializable to bytes."""

    def __init__(self) -> None: ...
    def merge(self, other: "ClassCounts") -> None: ...
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes) -> "ClassCounts": ...
    @property
    def rows(self) -> int: ...
    @property
    def classes(self) -> int: ...

class Gate:
    """The k-anonymity decision over the counts of every row."""

    @property
    def levels(self) -> List[int]:
        """The level written per quasi-identifier (0 = finest of its ladder): the search's choice."""
    @property
    def rows_below(self) -> int: ...
    @property
    def rows_at_gate(self) -> int: ...
    @property
    def classes_below(self) -> int: ...
    def info_json(self, rows_out: int) -> str:
        """The manifest's ``k_anonymity`` object, as JSON text."""

class Transformer:
    """A policy keyed: applies it to Arrow record batches (a plan per input schema)."""

    def __init__(
        self,
        policy: Policy,
        *,
        key_file: Optional[Union[str, "PathLike[str]"]] = None,
        key_hex: Optional[str] = None,
    ) -> None:
        """The key: ``key_file`` (refused if group or others may read it), else ``key_hex``,
        else the ``MINEX_KEY`` environment variable."""
    def transform(self, batch: Any) -> TransformOutput:
        """Transforms one batch (anything with ``__arrow_c_array__``); no suppression."""
    def transform_gated(self, batch: Any, gate: Gate) -> TransformOutput:
        """Pass 2 of k-anonymity: rows of classes below k are removed."""
    def count_classes(self, batch: Any, counts: ClassCounts) -> None:
        """Pass 1 of k-anonymity: adds the batch's rows to ``counts``."""
    def gate(self, counts: ClassCounts) -> Gate:
        """The gate over all counts; PrivacyError when the policy forbids writing with it."""
    def key_ids(self, batch: Any) -> Dict[str, str]:
        """``purpose/space`` → key id for a batch of this schema (ids, never keys)."""
    def plan_json(self, batch: Any, gate: Optional[Gate] = None) -> str:
        """The manifest's ``columns`` objects for a batch of this schema, as JSON text."""
