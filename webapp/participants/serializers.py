"""Serializers of the participant API (the states they draw come from selectors). Nothing here names a style:
images are addressed by tokens."""
from django.urls import reverse
from rest_framework import serializers

from webapp.core.apis import JobOutputSerializer
from webapp.participants import selectors
from webapp.participants.models import PickingRound, PickSet, SetItem


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
