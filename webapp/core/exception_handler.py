"""The one place where service errors become HTTP answers for every API (REST_FRAMEWORK's EXCEPTION_HANDLER).

APIs call services directly; a `ServiceError` they raise answers `{"detail": message}` with the status of
its kind: 400 by default, 403 for `NotAllowed`, 409 for `Conflict`, 503 for `Unavailable`.
"""

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.views import exception_handler

from webapp.core.errors import Conflict, NotAllowed, ServiceError, Unavailable

STATUS_OF_KIND = (  # the first kind the error is an instance of decides
    (Conflict, status.HTTP_409_CONFLICT),
    (NotAllowed, status.HTTP_403_FORBIDDEN),
    (Unavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
    (ServiceError, status.HTTP_400_BAD_REQUEST),
)


def service_exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        answer = APIException(detail=str(exc))
        answer.status_code = next(code for kind, code in STATUS_OF_KIND if isinstance(exc, kind))
        exc = answer
    return exception_handler(exc, context)
