"""JSON API of studies (DRF; documented at /api/schema/).

Participants (anonymous, identified by the session their consent started, CSRF-checked writes) get
their state and vote. Everything else — configuration, tally, exports — is for researchers only.
"""
import csv
import io
import json
import zipfile

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from studies import selectors, services
from studies.serializers import ParticipantStudyStateSerializer, StudyConfigSerializer, VoteInputSerializer
from webapp.core.apis import JobOutputSerializer
from webapp.core.pagination import paginated_list_schema, paginated_response
from webapp.core.permissions import IsResearcher, Public
from webapp.participants.sessions import enforce_csrf, session_participant
from webapp.participants.throttles import ParticipantThrottle

EXPORTS = ("votes", "picks", "vectors", "participants")  # tidy rows, as CSV or JSON
DOCUMENTS = ("tally", "study")  # JSON documents, downloaded like the rows


def participant_state(entry) -> dict:
    """The state a participant sees; a ready trial sent for the first time starts its server clock."""
    state = selectors.participant_state(entry)
    if state["trial"] is not None and state["trial"].shown_at is None:
        services.trial_mark_shown(trial=state["trial"])
    return ParticipantStudyStateSerializer(state).data


class StudyParticipantApi(APIView):
    permission_classes = [Public]
    throttle_classes = [ParticipantThrottle]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.study = selectors.study_get(kwargs["slug"])
        if self.study is None:
            raise NotFound("No such study.")
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            enforce_csrf(request)
        participant = session_participant(request, self.study.picking_round)
        if participant is None:
            raise PermissionDenied("No participant session for this study; start from its consent page.")
        self.entry = services.study_entry_for(participant, self.study)


class StateApi(StudyParticipantApi):
    @extend_schema(responses=ParticipantStudyStateSerializer)
    def get(self, request, slug):
        return Response(participant_state(self.entry))


class CurrentTrialApi(StudyParticipantApi):
    @extend_schema(
        request=None, responses=ParticipantStudyStateSerializer,
        description="Prepares the participant's trials when picking is done (idempotent) and returns the state.",
    )
    def post(self, request, slug):
        entry = services.trials_prepare(entry=self.entry)
        return Response(participant_state(entry))


class VoteApi(StudyParticipantApi):
    @extend_schema(request=VoteInputSerializer, responses=ParticipantStudyStateSerializer)
    def post(self, request, slug, token):
        payload = VoteInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.vote_cast(
            entry=self.entry, trial_token=token, option_token=payload.validated_data["option"],
            response_ms=payload.validated_data["response_ms"],
        )
        return Response(participant_state(self.entry))


# --- Researchers --------------------------------------------------------------------------------


class ResearcherApi(APIView):
    permission_classes = [IsResearcher]

    def study(self, slug):
        study = selectors.study_get(slug)
        if study is None:
            raise NotFound("No such study.")
        return study


class StudyListApi(ResearcherApi):
    @paginated_list_schema(StudyConfigSerializer, operation_id="studies_list")
    def get(self, request):
        return paginated_response(
            self, selectors.study_list(), lambda studies: [selectors.study_config(study) for study in studies]
        )

    @extend_schema(request=StudyConfigSerializer, responses={201: StudyConfigSerializer},
                   description="Create a study from a configuration (e.g. one exported elsewhere); it starts closed.")
    def post(self, request):
        payload = StudyConfigSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        study = services.study_configure(config=payload.validated_data, user=request.user)
        return Response(selectors.study_config(study), status=status.HTTP_201_CREATED)


class StudyDetailApi(ResearcherApi):
    @extend_schema(responses=StudyConfigSerializer)
    def get(self, request, slug):
        return Response(selectors.study_config(self.study(slug)))

    @extend_schema(request=StudyConfigSerializer, responses=StudyConfigSerializer)
    def put(self, request, slug):
        study = self.study(slug)
        payload = StudyConfigSerializer(data={**request.data, "slug": slug})
        payload.is_valid(raise_exception=True)
        study = services.study_configure(config=payload.validated_data, study=study)
        return Response(selectors.study_config(study))


class StudyOpenApi(ResearcherApi):
    @extend_schema(request={"application/json": {"type": "object", "properties": {"open": {"type": "boolean"}}}},
                   responses=StudyConfigSerializer)
    def post(self, request, slug):
        wanted = request.data.get("open")
        if not isinstance(wanted, bool):
            raise ValidationError({"open": "Send true or false."})
        study = services.study_set_open(study=self.study(slug), is_open=wanted)
        return Response({**selectors.study_config(study), "is_open": study.is_open})


class PreparePoolApi(ResearcherApi):
    @extend_schema(request=None, responses={202: JobOutputSerializer})
    def post(self, request, slug):
        job = services.study_prepare_pool(study=self.study(slug))
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class TallyApi(ResearcherApi):
    @extend_schema(responses=OpenApiResponse(description="Votes, intervals, tests, choice models, progress."))
    def get(self, request, slug):
        return Response(selectors.study_tally(self.study(slug)))


class ProgressApi(ResearcherApi):
    @extend_schema(responses=OpenApiResponse(description="Started, picking, voting, completed, excluded."))
    def get(self, request, slug):
        return Response(selectors.progress(self.study(slug)))


def rows_csv(rows: list[dict]) -> str:
    """Tidy CSV: one column per key; list values (vectors) become one column per element."""
    flat = []
    for row in rows:
        out = {}
        for key, value in row.items():
            if isinstance(value, list):
                out.update({f"{key}_{index}": item for index, item in enumerate(value)})
            else:
                out[key] = value
        flat.append(out)
    buffer = io.StringIO()
    if flat:
        writer = csv.DictWriter(buffer, fieldnames=list(flat[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(flat)
    return buffer.getvalue()


def export_rows(study, name: str) -> list[dict]:
    return {
        "votes": selectors.vote_rows, "picks": selectors.pick_rows, "vectors": selectors.vector_rows,
        "participants": selectors.participant_rows,
    }[name](study)


def export_document(study, name: str) -> dict:
    return {"tally": selectors.study_tally, "study": selectors.study_config}[name](study)


def attachment(content, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class ExportApi(ResearcherApi):
    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/json"): OpenApiTypes.OBJECT},
                   description="Tidy rows: votes (one per vote), picks (one per shown picking image), vectors or "
                               "participants (recruitment ids, status, check outcome, code shown); or the tally or "
                               "the study's configuration as a JSON document.")
    def get(self, request, slug, name, extension):
        study = self.study(slug)
        if name in DOCUMENTS and extension == "json":
            document = json.dumps(export_document(study, name), indent=1)
            return attachment(document, "application/json", f"{study.slug}-{name}.json")
        if name not in EXPORTS or extension not in ("csv", "json"):
            raise NotFound(f"Exports: {', '.join(EXPORTS)} as .csv or .json; {', '.join(DOCUMENTS)} as .json.")
        rows = export_rows(study, name)
        if extension == "csv":
            return attachment(rows_csv(rows), "text/csv; charset=utf-8", f"{study.slug}-{name}.csv")
        return attachment(json.dumps(rows, indent=1), "application/json", f"{study.slug}-{name}.json")


class ArchiveApi(ResearcherApi):
    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY},
                   description="The whole study: configuration, tally, votes, picks and vectors.")
    def get(self, request, slug):
        study = self.study(slug)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in DOCUMENTS:
                archive.writestr(f"{name}.json", json.dumps(export_document(study, name), indent=1))
            for name in EXPORTS:
                rows = export_rows(study, name)
                archive.writestr(f"{name}.csv", rows_csv(rows))
                archive.writestr(f"{name}.json", json.dumps(rows, indent=1))
        return attachment(buffer.getvalue(), "application/zip", f"{study.slug}.zip")
