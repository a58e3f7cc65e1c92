from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Session(_message.Message):
    __slots__ = ("token", "db_conn_str", "exit_on_submit", "user_id")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    DB_CONN_STR_FIELD_NUMBER: _ClassVar[int]
    EXIT_ON_SUBMIT_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    token: str
    db_conn_str: str
    exit_on_submit: bool
    user_id: str
    def __init__(self, token: _Optional[str] = ..., db_conn_str: _Optional[str] = ..., exit_on_submit: bool = ..., user_id: _Optional[str] = ...) -> None: ...

class Request(_message.Message):
    __slots__ = ("sql", "session", "request_id", "timeout_seconds")
    SQL_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    sql: str
    session: Session
    request_id: str
    timeout_seconds: int
    def __init__(self, sql: _Optional[str] = ..., session: _Optional[_Union[Session, _Mapping]] = ..., request_id: _Optional[str] = ..., timeout_seconds: _Optional[int] = ...) -> None: ...

class JobID(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class FetchRequest(_message.Message):
    __slots__ = ("job", "cursor", "wait_ms")
    JOB_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    job: JobID
    cursor: str
    wait_ms: int
    def __init__(self, job: _Optional[_Union[JobID, _Mapping]] = ..., cursor: _Optional[str] = ..., wait_ms: _Optional[int] = ...) -> None: ...

class Responses(_message.Message):
    __slots__ = ("job_status", "response", "next_cursor", "eof")
    JOB_STATUS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    EOF_FIELD_NUMBER: _ClassVar[int]
    job_status: JobStatus
    response: _containers.RepeatedCompositeFieldContainer[Response]
    next_cursor: str
    eof: bool
    def __init__(self, job_status: _Optional[_Union[JobStatus, _Mapping]] = ..., response: _Optional[_Iterable[_Union[Response, _Mapping]]] = ..., next_cursor: _Optional[str] = ..., eof: bool = ...) -> None: ...

class JobStatus(_message.Message):
    __slots__ = ("code", "message")
    class Code(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PENDING: _ClassVar[JobStatus.Code]
        RUNNING: _ClassVar[JobStatus.Code]
        SUCCEEDED: _ClassVar[JobStatus.Code]
        FAILED: _ClassVar[JobStatus.Code]
        UNKNOWN: _ClassVar[JobStatus.Code]
        CANCELLED: _ClassVar[JobStatus.Code]
    PENDING: JobStatus.Code
    RUNNING: JobStatus.Code
    SUCCEEDED: JobStatus.Code
    FAILED: JobStatus.Code
    UNKNOWN: JobStatus.Code
    CANCELLED: JobStatus.Code
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: JobStatus.Code
    message: str
    def __init__(self, code: _Optional[_Union[JobStatus.Code, str]] = ..., message: _Optional[str] = ...) -> None: ...

class Response(_message.Message):
    __slots__ = ("head", "row", "message", "eoe", "figure")
    HEAD_FIELD_NUMBER: _ClassVar[int]
    ROW_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EOE_FIELD_NUMBER: _ClassVar[int]
    FIGURE_FIELD_NUMBER: _ClassVar[int]
    head: Head
    row: Row
    message: Message
    eoe: EndOfExecution
    figure: Figure
    def __init__(self, head: _Optional[_Union[Head, _Mapping]] = ..., row: _Optional[_Union[Row, _Mapping]] = ..., message: _Optional[_Union[Message, _Mapping]] = ..., eoe: _Optional[_Union[EndOfExecution, _Mapping]] = ..., figure: _Optional[_Union[Figure, _Mapping]] = ...) -> None: ...

class Head(_message.Message):
    __slots__ = ("column_names", "column_types")
    COLUMN_NAMES_FIELD_NUMBER: _ClassVar[int]
    COLUMN_TYPES_FIELD_NUMBER: _ClassVar[int]
    column_names: _containers.RepeatedScalarFieldContainer[str]
    column_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, column_names: _Optional[_Iterable[str]] = ..., column_types: _Optional[_Iterable[str]] = ...) -> None: ...

class Row(_message.Message):
    __slots__ = ("cells",)
    CELLS_FIELD_NUMBER: _ClassVar[int]
    cells: _containers.RepeatedCompositeFieldContainer[Cell]
    def __init__(self, cells: _Optional[_Iterable[_Union[Cell, _Mapping]]] = ...) -> None: ...

class Cell(_message.Message):
    __slots__ = ("null", "bool", "int64", "double", "string", "bytes", "decimal", "date", "time", "timestamp")
    class Null(_message.Message):
        __slots__ = ()
        def __init__(self) -> None: ...
    NULL_FIELD_NUMBER: _ClassVar[int]
    BOOL_FIELD_NUMBER: _ClassVar[int]
    INT64_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_FIELD_NUMBER: _ClassVar[int]
    STRING_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    DECIMAL_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    null: Cell.Null
    bool: bool
    int64: int
    double: float
    string: str
    bytes: bytes
    decimal: str
    date: str
    time: str
    timestamp: str
    def __init__(self, null: _Optional[_Union[Cell.Null, _Mapping]] = ..., bool: bool = ..., int64: _Optional[int] = ..., double: _Optional[float] = ..., string: _Optional[str] = ..., bytes: _Optional[bytes] = ..., decimal: _Optional[str] = ..., date: _Optional[str] = ..., time: _Optional[str] = ..., timestamp: _Optional[str] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("message", "kind")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        LOG: _ClassVar[Message.Kind]
        PROGRESS: _ClassVar[Message.Kind]
        ERROR: _ClassVar[Message.Kind]
    LOG: Message.Kind
    PROGRESS: Message.Kind
    ERROR: Message.Kind
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    message: str
    kind: Message.Kind
    def __init__(self, message: _Optional[str] = ..., kind: _Optional[_Union[Message.Kind, str]] = ...) -> None: ...

class Figure(_message.Message):
    __slots__ = ("title", "mime_type", "data")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    title: str
    mime_type: str
    data: bytes
    def __init__(self, title: _Optional[str] = ..., mime_type: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class EndOfExecution(_message.Message):
    __slots__ = ("sql", "spent_time_seconds", "spent_time_micros", "statement_index")
    SQL_FIELD_NUMBER: _ClassVar[int]
    SPENT_TIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SPENT_TIME_MICROS_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    sql: str
    spent_time_seconds: int
    spent_time_micros: int
    statement_index: int
    def __init__(self, sql: _Optional[str] = ..., spent_time_seconds: _Optional[int] = ..., spent_time_micros: _Optional[int] = ..., statement_index: _Optional[int] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[JobInfo]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[JobInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class JobInfo(_message.Message):
    __slots__ = ("job_id", "status", "submitted_at_ms", "finished_at_ms", "summary", "request_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    status: JobStatus
    submitted_at_ms: int
    finished_at_ms: int
    summary: str
    request_id: str
    def __init__(self, job_id: _Optional[str] = ..., status: _Optional[_Union[JobStatus, _Mapping]] = ..., submitted_at_ms: _Optional[int] = ..., finished_at_ms: _Optional[int] = ..., summary: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...
