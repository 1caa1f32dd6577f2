from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Server(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SERVER_UNSPECIFIED: _ClassVar[Server]
    SERVER_A: _ClassVar[Server]
    SERVER_B: _ClassVar[Server]

class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REASON_UNSPECIFIED: _ClassVar[Reason]
    REASON_OK: _ClassVar[Reason]
    REASON_DECRYPT_FAILED: _ClassVar[Reason]
    REASON_BATCH_ID_MISMATCH: _ClassVar[Reason]
    REASON_WRONG_SERVER_INDEX: _ClassVar[Reason]
    REASON_BAD_FIELD_ELEMENT: _ClassVar[Reason]
    REASON_WRONG_LENGTH: _ClassVar[Reason]
    REASON_TRUNCATED: _ClassVar[Reason]
    REASON_MALFORMED: _ClassVar[Reason]
    REASON_VALUE_OUT_OF_RANGE: _ClassVar[Reason]
    REASON_INVALID_PROOF: _ClassVar[Reason]
    REASON_SUM_OVERFLOW: _ClassVar[Reason]
    REASON_CONFIG_MISMATCH: _ClassVar[Reason]
    REASON_INVALID_ARGUMENT: _ClassVar[Reason]
    REASON_CRYPTO_FAILURE: _ClassVar[Reason]
    REASON_NO_MEMORY: _ClassVar[Reason]
    REASON_BAD_ENCODING: _ClassVar[Reason]
    REASON_MISSING_PEER_PACKET: _ClassVar[Reason]
    REASON_NOT_JSON: _ClassVar[Reason]
    REASON_MISSING_DOCUMENT_ID: _ClassVar[Reason]
    REASON_MISSING_PRIO_DATA: _ClassVar[Reason]
    REASON_MALFORMED_ENTRY: _ClassVar[Reason]
    REASON_UNKNOWN_BATCH_ID: _ClassVar[Reason]
    REASON_MISSING_SHARE: _ClassVar[Reason]
    REASON_REPLAYED: _ClassVar[Reason]
    REASON_LATE: _ClassVar[Reason]
    REASON_PEER_TIMEOUT: _ClassVar[Reason]
    REASON_TOO_LARGE: _ClassVar[Reason]
    REASON_EXTRA_ENTRY: _ClassVar[Reason]
    REASON_DATE_OUT_OF_WINDOW: _ClassVar[Reason]
    REASON_SHARED_SECRET_MISMATCH: _ClassVar[Reason]
SERVER_UNSPECIFIED: Server
SERVER_A: Server
SERVER_B: Server
REASON_UNSPECIFIED: Reason
REASON_OK: Reason
REASON_DECRYPT_FAILED: Reason
REASON_BATCH_ID_MISMATCH: Reason
REASON_WRONG_SERVER_INDEX: Reason
REASON_BAD_FIELD_ELEMENT: Reason
REASON_WRONG_LENGTH: Reason
REASON_TRUNCATED: Reason
REASON_MALFORMED: Reason
REASON_VALUE_OUT_OF_RANGE: Reason
REASON_INVALID_PROOF: Reason
REASON_SUM_OVERFLOW: Reason
REASON_CONFIG_MISMATCH: Reason
REASON_INVALID_ARGUMENT: Reason
REASON_CRYPTO_FAILURE: Reason
REASON_NO_MEMORY: Reason
REASON_BAD_ENCODING: Reason
REASON_MISSING_PEER_PACKET: Reason
REASON_NOT_JSON: Reason
REASON_MISSING_DOCUMENT_ID: Reason
REASON_MISSING_PRIO_DATA: Reason
REASON_MALFORMED_ENTRY: Reason
REASON_UNKNOWN_BATCH_ID: Reason
REASON_MISSING_SHARE: Reason
REASON_REPLAYED: Reason
REASON_LATE: Reason
REASON_PEER_TIMEOUT: Reason
REASON_TOO_LARGE: Reason
REASON_EXTRA_ENTRY: Reason
REASON_DATE_OUT_OF_WINDOW: Reason
REASON_SHARED_SECRET_MISMATCH: Reason

class PartitionRef(_message.Message):
    __slots__ = ("batch_id", "submission_date", "partition_id")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_DATE_FIELD_NUMBER: _ClassVar[int]
    PARTITION_ID_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    submission_date: str
    partition_id: str
    def __init__(self, batch_id: _Optional[str] = ..., submission_date: _Optional[str] = ..., partition_id: _Optional[str] = ...) -> None: ...

class PartitionNotice(_message.Message):
    __slots__ = ("partition", "bucket", "object_name", "report_count", "schema_version", "report_ids_sha256")
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    OBJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    REPORT_COUNT_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    REPORT_IDS_SHA256_FIELD_NUMBER: _ClassVar[int]
    partition: PartitionRef
    bucket: str
    object_name: str
    report_count: int
    schema_version: int
    report_ids_sha256: bytes
    def __init__(self, partition: _Optional[_Union[PartitionRef, _Mapping]] = ..., bucket: _Optional[str] = ..., object_name: _Optional[str] = ..., report_count: _Optional[int] = ..., schema_version: _Optional[int] = ..., report_ids_sha256: _Optional[bytes] = ...) -> None: ...

class Verify1Partition(_message.Message):
    __slots__ = ("partition", "sender", "packets", "load_status", "report_ids_sha256", "share_fingerprints", "shared_secret_commitment")
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    PACKETS_FIELD_NUMBER: _ClassVar[int]
    LOAD_STATUS_FIELD_NUMBER: _ClassVar[int]
    REPORT_IDS_SHA256_FIELD_NUMBER: _ClassVar[int]
    SHARE_FINGERPRINTS_FIELD_NUMBER: _ClassVar[int]
    SHARED_SECRET_COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    partition: PartitionRef
    sender: Server
    packets: _containers.RepeatedScalarFieldContainer[bytes]
    load_status: _containers.RepeatedScalarFieldContainer[Reason]
    report_ids_sha256: bytes
    share_fingerprints: bytes
    shared_secret_commitment: bytes
    def __init__(self, partition: _Optional[_Union[PartitionRef, _Mapping]] = ..., sender: _Optional[_Union[Server, str]] = ..., packets: _Optional[_Iterable[bytes]] = ..., load_status: _Optional[_Iterable[_Union[Reason, str]]] = ..., report_ids_sha256: _Optional[bytes] = ..., share_fingerprints: _Optional[bytes] = ..., shared_secret_commitment: _Optional[bytes] = ...) -> None: ...

class Verify2Partition(_message.Message):
    __slots__ = ("partition", "sender", "packets", "status", "report_ids_sha256")
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    PACKETS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REPORT_IDS_SHA256_FIELD_NUMBER: _ClassVar[int]
    partition: PartitionRef
    sender: Server
    packets: _containers.RepeatedScalarFieldContainer[bytes]
    status: _containers.RepeatedScalarFieldContainer[Reason]
    report_ids_sha256: bytes
    def __init__(self, partition: _Optional[_Union[PartitionRef, _Mapping]] = ..., sender: _Optional[_Union[Server, str]] = ..., packets: _Optional[_Iterable[bytes]] = ..., status: _Optional[_Iterable[_Union[Reason, str]]] = ..., report_ids_sha256: _Optional[bytes] = ...) -> None: ...

class PartitionVerified(_message.Message):
    __slots__ = ("partition", "server", "outcome", "report_count", "valid_count")
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REPORT_COUNT_FIELD_NUMBER: _ClassVar[int]
    VALID_COUNT_FIELD_NUMBER: _ClassVar[int]
    partition: PartitionRef
    server: Server
    outcome: _containers.RepeatedScalarFieldContainer[Reason]
    report_count: int
    valid_count: int
    def __init__(self, partition: _Optional[_Union[PartitionRef, _Mapping]] = ..., server: _Optional[_Union[Server, str]] = ..., outcome: _Optional[_Iterable[_Union[Reason, str]]] = ..., report_count: _Optional[int] = ..., valid_count: _Optional[int] = ...) -> None: ...
