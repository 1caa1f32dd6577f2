import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from services.protocol.pb import partition_pb2 as _partition_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PartitionTotal(_message.Message):
    __slots__ = ("partition", "server", "state", "report_count", "valid_count", "rejected")
    class RejectedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REPORT_COUNT_FIELD_NUMBER: _ClassVar[int]
    VALID_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    partition: _partition_pb2.PartitionRef
    server: _partition_pb2.Server
    state: bytes
    report_count: int
    valid_count: int
    rejected: _containers.ScalarMap[str, int]
    def __init__(self, partition: _Optional[_Union[_partition_pb2.PartitionRef, _Mapping]] = ..., server: _Optional[_Union[_partition_pb2.Server, str]] = ..., state: _Optional[bytes] = ..., report_count: _Optional[int] = ..., valid_count: _Optional[int] = ..., rejected: _Optional[_Mapping[str, int]] = ...) -> None: ...

class BatchClose(_message.Message):
    __slots__ = ("batch_id", "submission_date", "kind", "sender", "partition_ids", "proposed_at")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[BatchClose.Kind]
        KIND_REQUEST: _ClassVar[BatchClose.Kind]
        KIND_PROPOSAL: _ClassVar[BatchClose.Kind]
        KIND_ACCEPTANCE: _ClassVar[BatchClose.Kind]
    KIND_UNSPECIFIED: BatchClose.Kind
    KIND_REQUEST: BatchClose.Kind
    KIND_PROPOSAL: BatchClose.Kind
    KIND_ACCEPTANCE: BatchClose.Kind
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_DATE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    PARTITION_IDS_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_AT_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    submission_date: str
    kind: BatchClose.Kind
    sender: _partition_pb2.Server
    partition_ids: _containers.RepeatedScalarFieldContainer[str]
    proposed_at: _timestamp_pb2.Timestamp
    def __init__(self, batch_id: _Optional[str] = ..., submission_date: _Optional[str] = ..., kind: _Optional[_Union[BatchClose.Kind, str]] = ..., sender: _Optional[_Union[_partition_pb2.Server, str]] = ..., partition_ids: _Optional[_Iterable[str]] = ..., proposed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TotalShare(_message.Message):
    __slots__ = ("batch_id", "submission_date", "sender", "total_share", "partition_ids", "report_count", "valid_count", "rejected")
    class RejectedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_DATE_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SHARE_FIELD_NUMBER: _ClassVar[int]
    PARTITION_IDS_FIELD_NUMBER: _ClassVar[int]
    REPORT_COUNT_FIELD_NUMBER: _ClassVar[int]
    VALID_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    submission_date: str
    sender: _partition_pb2.Server
    total_share: bytes
    partition_ids: _containers.RepeatedScalarFieldContainer[str]
    report_count: int
    valid_count: int
    rejected: _containers.ScalarMap[str, int]
    def __init__(self, batch_id: _Optional[str] = ..., submission_date: _Optional[str] = ..., sender: _Optional[_Union[_partition_pb2.Server, str]] = ..., total_share: _Optional[bytes] = ..., partition_ids: _Optional[_Iterable[str]] = ..., report_count: _Optional[int] = ..., valid_count: _Optional[int] = ..., rejected: _Optional[_Mapping[str, int]] = ...) -> None: ...

class PublishedResult(_message.Message):
    __slots__ = ("batch_id", "submission_date", "server", "bucket", "object_name", "valid_count", "counts")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_DATE_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    OBJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    VALID_COUNT_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    submission_date: str
    server: _partition_pb2.Server
    bucket: str
    object_name: str
    valid_count: int
    counts: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, batch_id: _Optional[str] = ..., submission_date: _Optional[str] = ..., server: _Optional[_Union[_partition_pb2.Server, str]] = ..., bucket: _Optional[str] = ..., object_name: _Optional[str] = ..., valid_count: _Optional[int] = ..., counts: _Optional[_Iterable[int]] = ...) -> None: ...

class ReleaseRecord(_message.Message):
    __slots__ = ("batch_id", "submission_date", "sender", "signed_record")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_DATE_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    SIGNED_RECORD_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    submission_date: str
    sender: _partition_pb2.Server
    signed_record: bytes
    def __init__(self, batch_id: _Optional[str] = ..., submission_date: _Optional[str] = ..., sender: _Optional[_Union[_partition_pb2.Server, str]] = ..., signed_record: _Optional[bytes] = ...) -> None: ...
