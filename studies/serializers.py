"""Serializers of the study API. Participant-facing ones carry tokens and positions only: no method,
style, model or check flag ever appears in them."""
from django.urls import reverse
from rest_framework import serializers

from studies.models import StudyMethod, Trial
from webapp.core.models import ModelVersion, Photo
from webapp.participants.models import PickingRound

MAX_PHOTOS = 5000


class MethodConfigSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=StudyMethod.Kind.values)
    style = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    label = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class ModelRefSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    sha256 = serializers.CharField(max_length=64)


class StudyConfigSerializer(serializers.Serializer):
    """The export format of a study's configuration; on input, photos (content hashes) and the model
    (checkpoint hash) are resolved to this installation's rows."""

    format = serializers.CharField(required=False)
    slug = serializers.SlugField(max_length=40)
    title = serializers.CharField(max_length=200)
    consent_text = serializers.CharField()
    instructions = serializers.CharField()
    min_picks = serializers.IntegerField(min_value=1, max_value=200)
    max_picks = serializers.IntegerField(min_value=1, max_value=200)
    set_size = serializers.IntegerField(min_value=2, max_value=24)
    scheme = serializers.ChoiceField(choices=PickingRound.Scheme.values, default=PickingRound.Scheme.MEAN)
    pool_styles = serializers.ListField(child=serializers.CharField(max_length=100), default=list)
    pool_photos = serializers.ListField(child=serializers.CharField(max_length=64), max_length=MAX_PHOTOS)
    voting_photos = serializers.ListField(child=serializers.CharField(max_length=64), max_length=MAX_PHOTOS)
    model = ModelRefSerializer(allow_null=True, required=False, default=None)
    methods = MethodConfigSerializer(many=True)
    trials_per_participant = serializers.IntegerField(min_value=1, max_value=100)
    attention_checks = serializers.IntegerField(min_value=0, max_value=20, default=0)
    max_failed_checks = serializers.IntegerField(min_value=0, max_value=20, default=0)
    participant_quota = serializers.IntegerField(min_value=1, max_value=100000)
    completion_code = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    completion_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    failed_code = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    failed_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, allow_null=True, default=None)

    def validate_format(self, value):
        from studies.selectors import CONFIG_FORMAT

        if value != CONFIG_FORMAT:
            raise serializers.ValidationError(f"Unknown format {value!r}; this installation reads {CONFIG_FORMAT!r}.")
        return value

    def _photos(self, hashes: list[str], what: str) -> list[Photo]:
        photos = {photo.content_hash: photo for photo in Photo.objects.filter(content_hash__in=set(hashes))}
        missing = [value for value in hashes if value not in photos]
        if missing:
            raise serializers.ValidationError({what: (
                f"{len(missing)} photos are not on this installation (import them first with "
                f"`manage.py import_photos`), e.g. {', '.join(missing[:3])}."
            )})
        return [photos[value] for value in dict.fromkeys(hashes)]

    def validate(self, data):
        data["pool_photos"] = self._photos(data["pool_photos"], "pool_photos")
        data["voting_photos"] = self._photos(data["voting_photos"], "voting_photos")
        reference = data.pop("model")
        data["model_version"] = None
        if reference:
            data["model_version"] = ModelVersion.objects.filter(sha256=reference["sha256"]).first()
            if data["model_version"] is None:
                raise serializers.ValidationError({"model": (
                    f"Model {reference.get('name') or reference['sha256'][:12]} is not registered here; "
                    "register its checkpoint with `manage.py register_model` first."
                )})
        return data


class OptionSerializer(serializers.Serializer):
    token = serializers.CharField()
    position = serializers.IntegerField()
    image_url = serializers.SerializerMethodField()

    def get_image_url(self, option) -> str:
        return reverse("studies:image", args=[option.token])


class TrialSerializer(serializers.ModelSerializer):
    options = OptionSerializer(many=True)  # in position order (TrialOption's Meta.ordering)

    class Meta:
        model = Trial
        fields = ["token", "number", "options"]


class DoneSerializer(serializers.Serializer):
    passed = serializers.BooleanField()
    code = serializers.CharField(allow_blank=True)
    url = serializers.CharField(allow_blank=True)


class ParticipantStudyStateSerializer(serializers.Serializer):
    """Everything the trial page needs to (re)draw itself after a refresh."""

    stage = serializers.ChoiceField(choices=["picking", "preparing", "voting", "failed", "done"])
    percent = serializers.IntegerField()
    message = serializers.CharField(allow_blank=True)
    total = serializers.IntegerField()
    trial = TrialSerializer(allow_null=True)
    done = DoneSerializer(allow_null=True)


class VoteInputSerializer(serializers.Serializer):
    option = serializers.CharField(max_length=32)
    response_ms = serializers.IntegerField(min_value=0)
