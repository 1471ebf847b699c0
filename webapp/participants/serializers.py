"""Serializers of the participant API. Nothing here names a style: images are addressed by tokens."""
from django.urls import reverse
from rest_framework import serializers

from webapp.core import selectors as core_selectors
from webapp.core.apis import JobOutputSerializer
from webapp.core.models import Job
from webapp.participants import selectors
from webapp.participants.models import Participant, PickingRound, PickSet, SetItem


class PickingRoundSerializer(serializers.ModelSerializer):
    class Meta:
        model = PickingRound
        fields = ["slug", "title", "min_picks", "max_picks", "set_size", "preview_count", "completion_url"]


class SetItemSerializer(serializers.ModelSerializer):
    image_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = SetItem
        fields = ["token", "position", "liked", "image_url", "thumbnail_url"]

    def get_image_url(self, item: SetItem) -> str:
        return reverse("participants:image", args=[item.token, "screen"])

    def get_thumbnail_url(self, item: SetItem) -> str:
        return reverse("participants:image", args=[item.token, "thumb"])


class ItemChoiceResultSerializer(SetItemSerializer):
    """An item after a pick or un-pick, with the participant's pick count for the counter."""

    picks = serializers.IntegerField(read_only=True)

    class Meta(SetItemSerializer.Meta):
        fields = [*SetItemSerializer.Meta.fields, "picks"]


class PickSetSerializer(serializers.ModelSerializer):
    items = serializers.SerializerMethodField()
    submitted = serializers.SerializerMethodField()

    class Meta:
        model = PickSet
        fields = ["number", "submitted", "items"]

    def get_submitted(self, pick_set: PickSet) -> bool:
        return pick_set.submitted_at is not None

    def get_items(self, pick_set: PickSet) -> list[dict]:
        return SetItemSerializer(selectors.set_items(pick_set), many=True).data


class ParticipantStateSerializer(serializers.Serializer):
    """Everything the picking page needs to (re)draw itself after a refresh."""

    pseudonym = serializers.CharField()
    round = PickingRoundSerializer()
    picks = serializers.IntegerField()
    can_finish = serializers.BooleanField()
    finished = serializers.BooleanField()
    current_set = PickSetSerializer(allow_null=True)
    preference_job = JobOutputSerializer(allow_null=True)


def participant_state(participant: Participant, current_set: PickSet | None = None) -> dict:
    picking_round = participant.picking_round
    picks = selectors.participant_pick_count(participant)
    current = current_set if current_set is not None and current_set.submitted_at is None else None
    current = current or selectors.open_set(participant)
    return ParticipantStateSerializer(
        {
            "pseudonym": participant.pseudonym,
            "round": picking_round,
            "picks": picks,
            "can_finish": picks >= picking_round.min_picks,
            "finished": participant.finished_at is not None,
            "current_set": current,
            "preference_job": selectors.preference_job(participant) if participant.finished_at else None,
        }
    ).data


class PreviewItemSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    before_url = serializers.CharField()
    job = JobOutputSerializer()


class PreviewSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["picking", "no_model", "computing", "failed", "ready"])
    message = serializers.CharField()
    preference_job = JobOutputSerializer(allow_null=True)
    items = PreviewItemSerializer(many=True)
    completion_url = serializers.CharField(allow_blank=True)


def preview_state(participant: Participant) -> dict:
    """The preview page's state: where the vector and the preview renderings are, or why not."""
    state = {"status": "picking", "message": "", "preference_job": None, "items": [],
             "completion_url": participant.picking_round.completion_url}
    if participant.finished_at is None:
        state["message"] = "Finish picking first."
        return PreviewSerializer(state).data
    job = selectors.preference_job(participant)
    preference = selectors.latest_preference(participant)
    if job is None and preference is None:
        failed = Job.objects.filter(kind=Job.Kind.PREFERENCE, params__participant=str(participant.pk)).first()
        if failed is not None:
            state.update(status="failed", message=failed.error, preference_job=failed)
        elif core_selectors.active_model_version() is None:
            state.update(status="no_model", message=(
                "Thank you, your picks are saved. Personalized previews need a trained model, "
                "which is not available yet."
            ))
        return PreviewSerializer(state).data
    state["preference_job"] = job
    if preference is None:
        state.update(status="computing", message="Working out your taste from your picks…")
        return PreviewSerializer(state).data
    state.update(status="ready", message="Your photos, enhanced the way you like them.")
    state["items"] = [
        {"position": item.position, "before_url": item.photo.screen.url, "job": item.job}
        for item in preference.previews.all()
    ]
    return PreviewSerializer(state).data
