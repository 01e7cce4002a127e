from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AccountState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_STATE_UNSPECIFIED: _ClassVar[AccountState]
    ACCOUNT_STATE_HEALTHY: _ClassVar[AccountState]
    ACCOUNT_STATE_COOLING_DOWN: _ClassVar[AccountState]
    ACCOUNT_STATE_DRAINED: _ClassVar[AccountState]
    ACCOUNT_STATE_BUSY: _ClassVar[AccountState]
    ACCOUNT_STATE_QUOTA_EXHAUSTED: _ClassVar[AccountState]
    ACCOUNT_STATE_UNHEALTHY: _ClassVar[AccountState]
ACCOUNT_STATE_UNSPECIFIED: AccountState
ACCOUNT_STATE_HEALTHY: AccountState
ACCOUNT_STATE_COOLING_DOWN: AccountState
ACCOUNT_STATE_DRAINED: AccountState
ACCOUNT_STATE_BUSY: AccountState
ACCOUNT_STATE_QUOTA_EXHAUSTED: AccountState
ACCOUNT_STATE_UNHEALTHY: AccountState

class Account(_message.Message):
    __slots__ = ("name", "state", "healthy", "used", "last_error", "cooldown_remaining_seconds", "credential_kind", "home", "cooldown_reason", "in_flight")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_REMAINING_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_KIND_FIELD_NUMBER: _ClassVar[int]
    HOME_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_REASON_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: AccountState
    healthy: bool
    used: int
    last_error: str
    cooldown_remaining_seconds: float
    credential_kind: str
    home: str
    cooldown_reason: str
    in_flight: int
    def __init__(self, name: _Optional[str] = ..., state: _Optional[_Union[AccountState, str]] = ..., healthy: _Optional[bool] = ..., used: _Optional[int] = ..., last_error: _Optional[str] = ..., cooldown_remaining_seconds: _Optional[float] = ..., credential_kind: _Optional[str] = ..., home: _Optional[str] = ..., cooldown_reason: _Optional[str] = ..., in_flight: _Optional[int] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListAccountsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListAccountsResponse(_message.Message):
    __slots__ = ("accounts", "next_page_token", "total_size")
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[Account]
    next_page_token: str
    total_size: int
    def __init__(self, accounts: _Optional[_Iterable[_Union[Account, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class DrainAccountRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ResumeAccountRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ResetAccountCooldownRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...
