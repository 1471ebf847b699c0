"""The errors services raise for requests they cannot carry out; their message is shown to the user as is.

Every app raises these (or subclasses of them), and one DRF exception handler
(`webapp.core.apis.service_exception_handler`) turns them into HTTP answers, so no API wraps its calls:
a plain `ServiceError` is 400, `Conflict` 409, `NotAllowed` 403 and `Unavailable` 503.
"""


class ServiceError(Exception):
    """A request that cannot be carried out; the message is shown to the user as is."""


class Conflict(ServiceError):
    """The request does not fit the current state (a full pick range, a vote already cast, a run in progress)."""


class NotAllowed(ServiceError):
    """This person may not do this (any more), whatever they send."""


class Unavailable(ServiceError):
    """The service is too busy right now; the same request may succeed in a moment."""
