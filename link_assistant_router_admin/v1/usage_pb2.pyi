import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetUsageRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UsageSnapshot(_message.Message):
    __slots__ = ("requests_total", "errors_total", "bytes_in", "bytes_out", "openai_chat_completions", "openai_responses", "anthropic_messages", "tokens_issued", "tokens_revoked", "status_counts", "account_calls", "token_usage", "last_sequence")
    class StatusCountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class AccountCallsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class TokenUsageEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    REQUESTS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    ERRORS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BYTES_IN_FIELD_NUMBER: _ClassVar[int]
    BYTES_OUT_FIELD_NUMBER: _ClassVar[int]
    OPENAI_CHAT_COMPLETIONS_FIELD_NUMBER: _ClassVar[int]
    OPENAI_RESPONSES_FIELD_NUMBER: _ClassVar[int]
    ANTHROPIC_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    TOKENS_ISSUED_FIELD_NUMBER: _ClassVar[int]
    TOKENS_REVOKED_FIELD_NUMBER: _ClassVar[int]
    STATUS_COUNTS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_USAGE_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    requests_total: int
    errors_total: int
    bytes_in: int
    bytes_out: int
    openai_chat_completions: int
    openai_responses: int
    anthropic_messages: int
    tokens_issued: int
    tokens_revoked: int
    status_counts: _containers.ScalarMap[str, int]
    account_calls: _containers.ScalarMap[str, int]
    token_usage: _containers.ScalarMap[str, int]
    last_sequence: int
    def __init__(self, requests_total: _Optional[int] = ..., errors_total: _Optional[int] = ..., bytes_in: _Optional[int] = ..., bytes_out: _Optional[int] = ..., openai_chat_completions: _Optional[int] = ..., openai_responses: _Optional[int] = ..., anthropic_messages: _Optional[int] = ..., tokens_issued: _Optional[int] = ..., tokens_revoked: _Optional[int] = ..., status_counts: _Optional[_Mapping[str, int]] = ..., account_calls: _Optional[_Mapping[str, int]] = ..., token_usage: _Optional[_Mapping[str, int]] = ..., last_sequence: _Optional[int] = ...) -> None: ...

class WatchUsageRequest(_message.Message):
    __slots__ = ("account", "route", "errors_only", "after_sequence")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    ERRORS_ONLY_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    account: str
    route: str
    errors_only: bool
    after_sequence: int
    def __init__(self, account: _Optional[str] = ..., route: _Optional[str] = ..., errors_only: _Optional[bool] = ..., after_sequence: _Optional[int] = ...) -> None: ...

class UsageEvent(_message.Message):
    __slots__ = ("time", "request_id", "route", "status", "account", "model", "duration_seconds", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "dropped", "sequence")
    TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_READ_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    request_id: str
    route: str
    status: int
    account: str
    model: str
    duration_seconds: float
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    dropped: int
    sequence: int
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ..., route: _Optional[str] = ..., status: _Optional[int] = ..., account: _Optional[str] = ..., model: _Optional[str] = ..., duration_seconds: _Optional[float] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cache_read_tokens: _Optional[int] = ..., cache_write_tokens: _Optional[int] = ..., dropped: _Optional[int] = ..., sequence: _Optional[int] = ...) -> None: ...
