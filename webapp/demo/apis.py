"""JSON API of the public demo (used by its pages; documented at /api/schema/).

Visitors are anonymous: writes check Django's CSRF token (another site cannot upload in a visitor's
name), every endpoint is rate limited per client, and photos and results are addressed by their
random tokens only.
"""
from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, Throttled, ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.core import selectors as core_selectors
from webapp.core.models import Job
from webapp.core.permissions import Public
from webapp.demo import selectors, services
from webapp.demo.models import Result, Upload
from webapp.demo.throttles import PollThrottle, RenderThrottle, UploadThrottle
from webapp.participants.sessions import enforce_csrf


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class DemoUploadSerializer(serializers.Serializer):
    token = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    before_url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()

    def get_before_url(self, upload: Upload) -> str:
        return reverse("demo:before", args=[upload.token])

    def get_page_url(self, upload: Upload) -> str:
        return reverse("demo:studio", args=[upload.token])


class DemoResultSerializer(serializers.Serializer):
    token = serializers.CharField()
    label = serializers.CharField()
    strength = serializers.DecimalField(max_digits=3, decimal_places=2)
    status = serializers.CharField(source="job.status")
    progress = serializers.IntegerField(source="job.progress")
    error = serializers.CharField(source="job.error")
    page_url = serializers.SerializerMethodField()
    after_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    def _ready(self, result: Result) -> bool:
        return result.job.status == Job.Status.SUCCEEDED and bool(result.screen)

    def get_page_url(self, result: Result) -> str:
        return reverse("demo:result", args=[result.token])

    def get_after_url(self, result: Result) -> str | None:
        return reverse("demo:result-screen", args=[result.token]) if self._ready(result) else None

    def get_download_url(self, result: Result) -> str | None:
        return reverse("demo:result-download", args=[result.token]) if self._ready(result) else None


class DemoApi(APIView):
    """Anonymous endpoints; unsafe methods need the page's CSRF token."""

    authentication_classes = []
    permission_classes = [Public]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            enforce_csrf(request)

    def throttled(self, request, wait):
        minutes = max(1, round((wait or 60) / 60))
        raise Throttled(wait, detail=f"You have reached the demo's limit for now; please try again in {minutes} min.")


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class UploadCreateApi(DemoApi):
    """A visitor's photo (multipart field `image`) or one of the samples (`sample`: a demo photo id)."""

    parser_classes = [MultiPartParser]
    throttle_classes = [UploadThrottle]

    class DemoUploadInputSerializer(serializers.Serializer):
        image = serializers.FileField(required=False, allow_empty_file=True)
        sample = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)

    @extend_schema(request=DemoUploadInputSerializer, responses={201: DemoUploadSerializer})
    def post(self, request):
        limit = settings.PIENET_MAX_UPLOAD_BYTES
        too_large = f"The file is larger than the limit of {limit / 2**20:.0f} MB."
        if _content_length(request) > limit + 64 * 1024:  # refuse before reading the body
            raise PayloadTooLarge(too_large)
        payload = self.DemoUploadInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        image, sample_id = payload.validated_data.get("image"), payload.validated_data.get("sample")
        if image is not None:
            if image.size > limit:
                raise PayloadTooLarge(too_large)
            upload = services.upload_create(data=image.read())
        elif sample_id is not None:
            sample = selectors.sample_get(sample_id)
            if sample is None:
                raise NotFound("No such sample photo.")
            upload = services.upload_from_sample(photo=sample)
        else:
            raise ValidationError({"detail": "Choose a photo to upload, or one of the samples."})
        remembered = [*request.session.get(selectors.SESSION_KEY, []), upload.token]
        request.session[selectors.SESSION_KEY] = remembered[-selectors.MAX_REMEMBERED:]
        return Response(DemoUploadSerializer(upload).data, status=status.HTTP_201_CREATED)


def _upload_or_404(token: str) -> Upload:
    upload = selectors.upload_get(token)
    if upload is None:
        raise NotFound("This photo does not exist (any more): demo photos are deleted after a day.")
    return upload


class RenderCreateApi(DemoApi):
    """Render the photo in a look: `style` (a style name, or "@mine"), optionally blended with
    `blend_with` (`mix`: its share, 0 to 1), at `strength` (0 to 2). Answers with the result to poll."""

    parser_classes = [JSONParser]
    throttle_classes = [RenderThrottle]

    class DemoRenderInputSerializer(serializers.Serializer):
        style = serializers.CharField(max_length=100)
        blend_with = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        mix = serializers.DecimalField(max_digits=3, decimal_places=2, min_value=0, max_value=1, default=0)
        strength = serializers.DecimalField(max_digits=3, decimal_places=2, min_value=0, max_value=2, default=1)

    @extend_schema(request=DemoRenderInputSerializer, responses={202: DemoResultSerializer})
    def post(self, request, token):
        upload = _upload_or_404(token)
        payload = self.DemoRenderInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        mine = selectors.my_style(request, core_selectors.active_model_version())["vector"]
        result = services.render_request(upload=upload, my_vector=mine, **payload.validated_data)
        return Response(DemoResultSerializer(result).data, status=status.HTTP_202_ACCEPTED)


class ResultDetailApi(DemoApi):
    throttle_classes = [PollThrottle]

    @extend_schema(responses=DemoResultSerializer)
    def get(self, request, token):
        result = selectors.result_get(token)
        if result is None:
            raise NotFound("This result does not exist (any more): demo results are deleted after a day.")
        return Response(DemoResultSerializer(result).data)
