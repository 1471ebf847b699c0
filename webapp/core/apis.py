"""JSON API (DRF, documented by drf-spectacular at /api/schema/). Views stay thin: parse, call a
service or selector, serialize.

The platform's photo pool, its enhancement jobs and their files are research material: researchers only
(webapp.core.permissions). The model registry is public, read-only."""
from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.core import selectors, services
from webapp.core.errors import ServiceError
from webapp.core.pagination import paginated_list_schema, paginated_response
from webapp.core.permissions import IsResearcher, Public
from webapp.core.models import Job, ModelVersion, Photo


def _storage_url(field) -> str | None:
    return default_storage.url(field.name) if field else None


class PhotoOutputSerializer(serializers.ModelSerializer):
    thumbnail_url = serializers.SerializerMethodField()
    original_url = serializers.SerializerMethodField()

    class Meta:
        model = Photo
        fields = ["id", "title", "collection", "width", "height", "content_hash", "thumbnail_url", "original_url"]

    def get_thumbnail_url(self, photo: Photo) -> str | None:
        return _storage_url(photo.thumbnail)

    def get_original_url(self, photo: Photo) -> str:
        return reverse("photo-original", args=[photo.pk])


class ModelVersionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "name", "sha256", "status", "styles", "metrics", "notes", "created_at", "activated_at"]


class JobOutputSerializer(serializers.ModelSerializer):
    model_version = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id", "kind", "status", "progress", "params", "result", "error",
            "photo", "model_version", "created_at", "started_at", "finished_at",
        ]


def _get_photo(photo_id: int) -> Photo:
    photo = selectors.photo_list().filter(pk=photo_id).first()
    if photo is None:
        raise NotFound(f"No photo with id {photo_id}.")
    return photo


class ResearcherApi(APIView):
    permission_classes = [IsResearcher]


class PhotoListApi(ResearcherApi):
    parser_classes = [MultiPartParser]

    class UploadSerializer(serializers.Serializer):
        image = serializers.FileField()
        title = serializers.CharField(required=False, allow_blank=True, max_length=200)

    @paginated_list_schema(PhotoOutputSerializer, operation_id="photos_list")
    def get(self, request):
        photos = selectors.photo_list(demo_only=request.query_params.get("demo") == "1")
        return paginated_response(self, photos, lambda page: PhotoOutputSerializer(page, many=True).data)

    @extend_schema(request=UploadSerializer, responses={201: PhotoOutputSerializer, 200: PhotoOutputSerializer})
    def post(self, request):
        upload = self.UploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        image = upload.validated_data["image"]
        if image.size > settings.PIENET_MAX_UPLOAD_BYTES:
            raise ValidationError({"image": f"The file is larger than {settings.PIENET_MAX_UPLOAD_BYTES} bytes."})
        try:
            photo, created = services.photo_create(
                data=image.read(), title=upload.validated_data.get("title") or image.name, collection="upload"
            )
        except ServiceError as error:  # the upload field's error, like the size check above
            raise ValidationError({"image": str(error)}) from None
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(PhotoOutputSerializer(photo).data, status=code)


class PhotoDetailApi(ResearcherApi):
    @extend_schema(responses=PhotoOutputSerializer)
    def get(self, request, photo_id: int):
        return Response(PhotoOutputSerializer(_get_photo(photo_id)).data)


class EnhancementCreateApi(ResearcherApi):
    class InputSerializer(serializers.Serializer):
        photo = serializers.IntegerField()
        style = serializers.CharField(max_length=100)
        strength = serializers.DecimalField(max_digits=4, decimal_places=2, default="1.00")

    @extend_schema(request=InputSerializer, responses={202: JobOutputSerializer})
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        job = services.enhancement_request(photo=_get_photo(data["photo"]), style=data["style"], strength=data["strength"])
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class JobDetailApi(ResearcherApi):
    @extend_schema(responses=JobOutputSerializer)
    def get(self, request, job_id):
        job = selectors.job_get(job_id)
        if job is None:
            raise NotFound("No such job.")
        return Response(JobOutputSerializer(job).data)


class ModelVersionListApi(APIView):
    permission_classes = [Public]

    @paginated_list_schema(ModelVersionOutputSerializer, operation_id="models_list")
    def get(self, request):
        return paginated_response(
            self, selectors.model_version_list(), lambda page: ModelVersionOutputSerializer(page, many=True).data
        )


class ActiveModelApi(APIView):
    permission_classes = [Public]

    @extend_schema(responses=ModelVersionOutputSerializer)
    def get(self, request):
        version = selectors.active_model_version()
        if version is None:
            raise NotFound("No model is active.")
        return Response(ModelVersionOutputSerializer(version).data)
