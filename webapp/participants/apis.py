"""JSON API of the participant flow (DRF; documented at /api/schema/). The pages use these.

A participant is identified by the Django session (set when they join after consent); unsafe
methods check the CSRF token even though participants are anonymous, so another site cannot pick
on someone's behalf. Researcher endpoints need the research permission (webapp.core.permissions).
"""
import io

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.core import selectors as core_selectors
from webapp.core.apis import JobOutputSerializer
from webapp.core.permissions import IsResearcher, Public
from webapp.participants import selectors, services
from webapp.participants.serializers import (
    ItemChoiceResultSerializer, ParticipantStateSerializer, PickSetSerializer, PreviewSerializer,
)
from webapp.participants.sessions import enforce_csrf, remember_participant, session_participant
from webapp.participants.throttles import ParticipantThrottle


def _state(participant, current_set=None) -> dict:
    return ParticipantStateSerializer(selectors.participant_state(participant, current_set)).data


class RoundApi(APIView):
    """Base: resolves the round from the URL, and the participant from the session (when needed)."""

    needs_participant = True
    permission_classes = [Public]
    throttle_classes = [ParticipantThrottle]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.picking_round = selectors.picking_round_get(kwargs["slug"])
        if self.picking_round is None:
            raise NotFound("No such study.")
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            enforce_csrf(request)
        if self.needs_participant:
            self.participant = session_participant(request, self.picking_round)
            if self.participant is None:
                raise PermissionDenied("No participant session for this study; start from its consent page.")


class JoinApi(RoundApi):
    needs_participant = False

    class JoinInputSerializer(serializers.Serializer):
        consent = serializers.BooleanField()
        PROLIFIC_PID = serializers.CharField(required=False, allow_blank=True)
        STUDY_ID = serializers.CharField(required=False, allow_blank=True)
        SESSION_ID = serializers.CharField(required=False, allow_blank=True)
        workerId = serializers.CharField(required=False, allow_blank=True)
        assignmentId = serializers.CharField(required=False, allow_blank=True)
        hitId = serializers.CharField(required=False, allow_blank=True)

    @extend_schema(request=JoinInputSerializer, responses={201: ParticipantStateSerializer, 200: ParticipantStateSerializer})
    def post(self, request, slug):
        payload = self.JoinInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        participant, created = services.participant_join(
            picking_round=self.picking_round, params=payload.validated_data, consent=payload.validated_data["consent"],
        )
        remember_participant(request, participant)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(_state(participant), status=code)


class StateApi(RoundApi):
    @extend_schema(responses=ParticipantStateSerializer)
    def get(self, request, slug):
        return Response(_state(self.participant))


class CurrentSetApi(RoundApi):
    @extend_schema(
        request=None,
        responses={200: ParticipantStateSerializer},
        description="The open set, or a new random one (idempotent: two tabs get the same set).",
    )
    def post(self, request, slug):
        pick_set = services.pick_set_current(participant=self.participant)
        return Response(_state(self.participant, pick_set))


class ItemApi(RoundApi):
    class ItemChoiceSerializer(serializers.Serializer):
        liked = serializers.BooleanField()

    @extend_schema(request=ItemChoiceSerializer, responses={200: ItemChoiceResultSerializer})
    def put(self, request, slug, token):
        payload = self.ItemChoiceSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        item = services.item_choose(participant=self.participant, token=token, liked=payload.validated_data["liked"])
        item.picks = selectors.participant_pick_count(self.participant)
        return Response(ItemChoiceResultSerializer(item).data)


class SubmitSetApi(RoundApi):
    @extend_schema(request=None, responses={200: PickSetSerializer})
    def post(self, request, slug, number: int):
        pick_set = services.pick_set_submit(participant=self.participant, number=number)
        return Response(PickSetSerializer(pick_set).data)


class FinishApi(RoundApi):
    @extend_schema(
        request=None,
        responses={202: JobOutputSerializer, 200: OpenApiResponse(description="Finished; no model is active yet.")},
    )
    def post(self, request, slug):
        job = services.participant_finish(participant=self.participant)
        if job is None:
            return Response({"detail": "Picks saved; no model is active yet."}, status=status.HTTP_200_OK)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class PreviewApi(RoundApi):
    @extend_schema(responses=PreviewSerializer)
    def get(self, request, slug):
        self.participant.refresh_from_db()
        return Response(PreviewSerializer(selectors.preview_state(self.participant)).data)


class LabelMatrixApi(RoundApi):
    """Researchers only: candidate × participant labels (1 = picked, 0 = shown, not picked) as CSV."""

    needs_participant = False
    permission_classes = [IsResearcher]

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(description="Label matrix CSV.")})
    def get(self, request, slug):
        buffer = io.StringIO()
        selectors.write_label_matrix_csv(buffer, self.picking_round)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="labels-{self.picking_round.slug}.csv"'
        return response


class CandidateRenderApi(APIView):
    """Researchers only: queue candidate renderings for photos × styles (one job with progress)."""

    permission_classes = [IsResearcher]

    class CandidateRenderInputSerializer(serializers.Serializer):
        photo_ids = serializers.ListField(child=serializers.IntegerField(), required=False, allow_empty=False)
        retouch_styles = serializers.ListField(child=serializers.CharField(), required=False)
        pienet = serializers.BooleanField(default=True)

    @extend_schema(request=CandidateRenderInputSerializer, responses={202: JobOutputSerializer})
    def post(self, request):
        payload = self.CandidateRenderInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        photos = core_selectors.photo_list()
        if "photo_ids" in data:
            photos = photos.filter(pk__in=data["photo_ids"])
        styles = data.get("retouch_styles", list(services.STYLES))
        job = services.candidates_request(photos=list(photos), retouch_styles=styles, pienet=data["pienet"])
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)
