"""Every error the bridge raises, in one tree.

    BridgeError
    ├── ConfigError               the configuration file or environment is wrong
    ├── RequestError              a request failed validation before any network call
    ├── AudioError                a local audio file cannot be read, cut or written
    ├── StagingError              a clip cannot be made reachable by URL
    ├── EmulatorError             the built-in emulator cannot start
    ├── ProjectError              a result cannot be written into the project folder
    │                             (outside the allowed roots, a refused name, disk full,
    │                             read-only): the job keeps its place and can be retried
    ├── JournalError              the job journal cannot be opened, read or written
    ├── JobError                  a job command cannot be done (unknown id, wrong state)
    ├── AbletonError              Ableton Live (our remote script or AbletonOSC) cannot be
    │                             reached or read: no answer, a clip, loop or tempo that
    │                             cannot be mapped honestly, results it cannot place
    ├── InputError                a daemon input cannot be opened (the OSC port is taken)
    ├── InstallError              a DAW's scripts cannot be installed or indexed (no
    │                             scripts to copy, a folder that cannot be written)
    ├── LoginError                the start-at-login entry cannot be written or removed
    ├── BudgetError               a job would spend past [budget]: refused before staging
    ├── ProviderUnavailableError  a journaled job's provider cannot be reached as set up
    │                             (no key for it): nothing is sent, `jobs retry` goes on
    └── ApiError                  anything that went wrong talking to the Producer API
        ├── AuthError             401 / 403: the API key is missing or wrong
        ├── BadRequestError       400 / 422: the service refused the body
        ├── NotFoundError         404: unknown task (or endpoint)
        ├── RateLimitedError      429 after every retry was spent
        ├── ServerError           5xx after every retry was spent (or on a create)
        ├── ConnectionFailed      the connection failed after every retry was spent
        ├── SubmitUncertainError  a create POST was sent but no answer came back:
        │                         the task may exist and repeating it may pay twice
        ├── UnexpectedResponse    the service answered something we cannot read
        ├── TaskFailedError       the task ended failed, cancelled or timeout
        ├── PollDeadlineError     the task did not finish before the deadline
        └── DownloadError         a file could not be fetched whole

Third-party errors (httpx, soundfile, OSError) are translated once, where they
happen, with ``raise ... from exc``. ``explain`` is the one place that turns an error into
the words a person reads, whether on a terminal or in an OSC answer. Messages never contain
the API key: ``redact`` is applied to every message built from text that came from outside.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Remember a secret so that ``redact`` removes it from any message or log line."""
    if value and len(value) >= 4:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "********")
    return text


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Issue:
    """One problem with one field: where it is and what would be right."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class _IssuesError(BridgeError):
    """An error that gathers every issue found, so the user fixes them all at once."""

    title = "invalid"

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues = tuple(issues)
        super().__init__(f"{self.title}: " + "; ".join(str(issue) for issue in self.issues))

    def details(self) -> str:
        """The issues one per line, for reports meant to be read at leisure."""
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        return redact(f"{self.title} ({len(self.issues)} problem(s)):\n{lines}")

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(issue.field for issue in self.issues)


class ConfigError(_IssuesError):
    title = "configuration is invalid"


class RequestError(_IssuesError):
    title = "request is invalid"


class AudioError(BridgeError):
    pass


class StagingError(BridgeError):
    pass


class EmulatorError(BridgeError):
    pass


class ProjectError(BridgeError):
    pass


class JournalError(BridgeError):
    pass


class JobError(BridgeError):
    pass


class AbletonError(BridgeError):
    pass


class InputError(BridgeError):
    pass


class InstallError(BridgeError):
    pass


class LoginError(BridgeError):
    pass


class BudgetError(BridgeError):
    pass


class ProviderUnavailableError(BridgeError):
    """A journaled job's provider is not api.provider and cannot be reached from here: no key
    is set for it, or `--emulator` sends every job to the built-in emulator's one twin.
    Nothing was sent; `jobs retry` goes on with the job once it can be reached."""

    def __init__(
        self,
        provider: str,
        *,
        key_setting: str,
        key_env: str,
        provider_env: str,
        built_in: bool,
        emulator_asked: bool = False,
    ) -> None:
        self.provider = provider
        back = f"api.provider = {provider!r} (or {provider_env}={provider})"
        if emulator_asked:
            words = (
                f"this job was started on provider {provider}, and with --emulator the built-in "
                f"emulator speaks only the twin of api.provider: set {back} or leave out "
                f"--emulator, {_RETRY}"
            )
        else:
            words = (
                f"this job was started on provider {provider}, and no API key is set here for "
                f"it: set {key_setting} (or the environment variable {key_env}), {_RETRY}"
            )
            if built_in:
                words += f"; a job started on the built-in emulator goes on there once {back}"
        super().__init__(words)


_RETRY = (
    "then `producer-bridge jobs retry` this job: it goes on from its last checkpoint with the "
    "task ids it kept, and nothing paid for is sent again"
)


_LOOK_IT_UP = "Look the task up before trying again; the service may bill a repeat."


def explain(exc: BaseException, *, one_line: bool = False) -> str:
    """What a person reads of `exc`: the issues of an error that gathers them one per line
    (on one line with `one_line`), otherwise its message; a create that may have been
    billed says what to do before trying again; anything the bridge did not raise on
    purpose is named as an internal error."""
    if not isinstance(exc, BridgeError):
        return redact(f"internal error: {type(exc).__name__}: {exc}")
    if isinstance(exc, _IssuesError) and not one_line:
        return exc.details()
    if isinstance(exc, SubmitUncertainError):
        return f"{exc.message}\n{_LOOK_IT_UP}"
    return exc.message


class ApiError(BridgeError):
    """An error from the Producer API, with every id that helps to trace it."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        task_id: str | None = None,
        trace_id: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.task_id = task_id
        self.trace_id = trace_id
        self.endpoint = endpoint
        context = [
            f"{name}={value}"
            for name, value in (
                ("endpoint", endpoint),
                ("http", status_code),
                ("taskId", task_id),
                ("traceId", trace_id),
            )
            if value is not None
        ]
        super().__init__(f"{message} ({', '.join(context)})" if context else message)


class AuthError(ApiError):
    pass


class BadRequestError(ApiError):
    pass


class NotFoundError(ApiError):
    pass


class RateLimitedError(ApiError):
    pass


class ServerError(ApiError):
    pass


class ConnectionFailed(ApiError):
    pass


class SubmitUncertainError(ApiError):
    """A create POST left this machine but no answer came back.

    The service may have created (and billed) the task. Repeating the POST may pay
    twice, so the bridge never does it on its own: the caller decides.
    """


class UnexpectedResponse(ApiError):
    pass


class TaskFailedError(ApiError):
    def __init__(
        self,
        message: str,
        *,
        status: str,
        error_code: int | str | None = None,
        task_id: str | None = None,
        trace_id: str | None = None,
    ) -> None:
        self.status = status
        self.error_code = error_code
        code = f" [errorCode {error_code}]" if error_code is not None else ""
        super().__init__(f"task {status}{code}: {message}", task_id=task_id, trace_id=trace_id)


class PollDeadlineError(ApiError):
    pass


class DownloadError(ApiError):
    pass
