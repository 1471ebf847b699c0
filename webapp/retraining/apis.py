"""Admin-only JSON API of retraining and of switching the served model (documented at /api/schema/)."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.core import selectors as core_selectors
from webapp.core import services as core_services
from webapp.core.apis import ModelVersionOutputSerializer
from webapp.core.models import AuditEvent
from webapp.core.pagination import paginated_list_schema, paginated_response
from webapp.core.permissions import IsModelAdmin
from webapp.retraining import selectors, services
from webapp.retraining.models import RetrainingRun

LOG_TAIL = 8000  # characters of the log an API reader gets (the admin page shows all of it)


class RunOutputSerializer(serializers.ModelSerializer):
    base_version = serializers.SlugRelatedField(slug_field="name", read_only=True)
    candidate_version = ModelVersionOutputSerializer(read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    log = serializers.SerializerMethodField()

    class Meta:
        model = RetrainingRun
        fields = [
            "id", "status", "stage", "progress", "from_scratch", "recipe", "base_version", "candidate_version",
            "requested_by", "cancel_requested", "data_snapshot", "metrics", "log", "error", "attempts",
            "created_at", "started_at", "finished_at",
        ]

    def get_log(self, run: RetrainingRun) -> str:
        return run.log[-LOG_TAIL:]


class AuditEventOutputSerializer(serializers.ModelSerializer):
    model_version = serializers.SlugRelatedField(slug_field="name", read_only=True)
    previous_version = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor_name", "action", "model_version", "previous_version", "details"]


def _get_run(run_id) -> RetrainingRun:
    run = selectors.run_get(run_id)
    if run is None:
        raise NotFound("No such retraining run.")
    return run


class AdminApi(APIView):
    permission_classes = [IsModelAdmin]


class RunListApi(AdminApi):
    class RunRequestSerializer(serializers.Serializer):
        from_scratch = serializers.BooleanField(default=False)
        recipe = serializers.JSONField(required=False, help_text='Overrides, e.g. {"pienet": {"steps": 2000}}.')

    @paginated_list_schema(RunOutputSerializer, operation_id="retraining_runs_list")
    def get(self, request):
        return paginated_response(self, selectors.run_list(), lambda runs: RunOutputSerializer(runs, many=True).data)

    @extend_schema(request=RunRequestSerializer, responses={202: RunOutputSerializer, 200: RunOutputSerializer})
    def post(self, request):
        payload = self.RunRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run, created = services.run_request(
            user=request.user, from_scratch=payload.validated_data["from_scratch"],
            recipe=payload.validated_data.get("recipe"),
        )
        return Response(RunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class RunDetailApi(AdminApi):
    @extend_schema(responses=RunOutputSerializer)
    def get(self, request, run_id):
        return Response(RunOutputSerializer(_get_run(run_id)).data)


class RunCancelApi(AdminApi):
    @extend_schema(request=None, responses={202: RunOutputSerializer})
    def post(self, request, run_id):
        run = services.run_cancel(run=_get_run(run_id), user=request.user)
        return Response(RunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class _ModelSwitchApi(AdminApi):
    service = None

    @extend_schema(request=None, responses=ModelVersionOutputSerializer)
    def post(self, request, version_id: int):
        version = core_selectors.model_version_list().filter(pk=version_id).first()
        if version is None:
            raise NotFound(f"No model version with id {version_id}.")
        version = self.service(version=version, actor=request.user)
        return Response(ModelVersionOutputSerializer(version).data)


class ModelPromoteApi(_ModelSwitchApi):
    """Serve a candidate version (one a run registered after its evaluation, or one registered by hand)."""

    service = staticmethod(core_services.model_version_promote)


class ModelRollbackApi(_ModelSwitchApi):
    """Serve again any version that served before."""

    service = staticmethod(core_services.model_version_rollback)


class AuditListApi(AdminApi):
    @paginated_list_schema(AuditEventOutputSerializer, operation_id="retraining_audit_list")
    def get(self, request):
        return paginated_response(
            self, selectors.audit_list(), lambda events: AuditEventOutputSerializer(events, many=True).data
        )
