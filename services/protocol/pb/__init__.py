"""Generated protobuf code of proto/prio/v1 (regenerate: `python proto/generate.py`)."""

from services.protocol.pb.batch_pb2 import (
    BatchClose,
    PartitionTotal,
    PublishedResult,
    ReleaseRecord,
    TotalShare,
)
from services.protocol.pb.partition_pb2 import (
    PartitionNotice,
    PartitionRef,
    PartitionVerified,
    Reason,
    Server,
    Verify1Partition,
    Verify2Partition,
)

__all__ = [
    "BatchClose",
    "PartitionNotice",
    "PartitionRef",
    "PartitionTotal",
    "PartitionVerified",
    "PublishedResult",
    "Reason",
    "ReleaseRecord",
    "Server",
    "TotalShare",
    "Verify1Partition",
    "Verify2Partition",
]
