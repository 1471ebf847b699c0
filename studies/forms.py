"""The researcher's study form. It produces the same configuration dict as the JSON import, so both
go through `services.study_configure` and its checks."""
import random

from django import forms

from ml.styles.registry import STYLES, TRAIN_USERS
from studies.models import Study, StudyMethod
from webapp.core import selectors as core_selectors
from webapp.core.models import ModelVersion, Photo
from webapp.participants.models import PickingRound

DEFAULT_POOL_STYLES = ["vivid", "matte_fade", "warm_golden", "cool_blue", "high_key", "low_key", "teal_orange",
                       "clahe", "auto_levels", "photographer_airy_bright", "photographer_warm_moody"]
DEFAULT_METHODS = ["pienet_personal", "pienet_mean", "retouch:auto_levels", "retouch:vivid", "retouch:clahe",
                   "retouch:photographer_punchy_natural"]


def method_choices(version: ModelVersion | None) -> list[tuple[str, str]]:
    choices = [(kind, label) for kind, label in StudyMethod.Kind.choices if kind in ("pienet_personal", "pienet_mean")]
    for style in (version.styles if version else []):
        choices.append((f"pienet_style:{style}", f"PieNet with training user “{style}”"))
    for name, style in sorted(STYLES.items(), key=lambda item: (item[1].family, item[0])):
        choices.append((f"retouch:{name}", f"{name} ({style.family})"))
    return choices


IMPORT_HINT = "import more with `.venv/bin/python manage.py import_photos DIRECTORY` (read in place, never copied)"


def collection_choices() -> list[tuple[str, str]]:
    """Each collection of the photo pool with how many photos it has, so researchers see what they draw from."""
    return [
        (name, f"{name or '(no collection)'} · {count} photo{'s' if count != 1 else ''}")
        for name, count in core_selectors.photo_collections()
    ]


class StudyForm(forms.Form):
    slug = forms.SlugField(max_length=40, help_text="Part of the participants' link: /study/SLUG/.")
    title = forms.CharField(max_length=200)
    consent_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), initial=(
        "Each screen shows one photo retouched in several ways. Choose the version you find most pleasing. "
        "Some screens include a striped image saying “Do not choose this one”: never choose it."
    ))
    min_picks = forms.IntegerField(min_value=1, max_value=200, initial=10)
    max_picks = forms.IntegerField(min_value=1, max_value=200, initial=20)
    set_size = forms.IntegerField(min_value=2, max_value=24, initial=8)
    scheme = forms.ChoiceField(choices=PickingRound.Scheme.choices, initial=PickingRound.Scheme.MEAN)
    pool_styles = forms.MultipleChoiceField(
        choices=[(name, name) for name in TRAIN_USERS], widget=forms.CheckboxSelectMultiple,
        initial=DEFAULT_POOL_STYLES, help_text="Retouching users the picking candidates are rendered in.",
    )
    pool_collections = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    pool_count = forms.IntegerField(min_value=0, max_value=5000, required=False,
                                    help_text="Random photos from these collections (empty: keep the current pool).")
    voting_collections = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    voting_count = forms.IntegerField(min_value=0, max_value=5000, required=False,
                                      help_text="Random photos not in the pool (empty: keep the current ones).")
    model_version = forms.ModelChoiceField(queryset=ModelVersion.objects.all(), required=False,
                                           help_text="Used by every PieNet method and for the preference vectors.")
    methods = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, initial=DEFAULT_METHODS)
    trials_per_participant = forms.IntegerField(min_value=1, max_value=100, initial=10)
    attention_checks = forms.IntegerField(min_value=0, max_value=20, initial=2)
    max_failed_checks = forms.IntegerField(min_value=0, max_value=20, initial=0)
    participant_quota = forms.IntegerField(min_value=1, max_value=100000, initial=50)
    completion_code = forms.CharField(max_length=64, required=False)
    completion_url = forms.URLField(max_length=500, required=False, assume_scheme="https",
                                    help_text="e.g. https://app.prolific.com/submissions/complete?cc={code}")
    failed_code = forms.CharField(
        max_length=64, required=False,
        help_text="For participants who fail the attention checks. Without a code or URL they get neither.",
    )
    failed_url = forms.URLField(max_length=500, required=False, assume_scheme="https")

    def __init__(self, *args, study: Study | None = None, rng: random.Random | None = None, **kwargs):
        self.study, self.rng = study, rng or random.Random()
        super().__init__(*args, **kwargs)
        version = study.model_version if study else core_selectors.active_model_version()
        self.fields["methods"].choices = method_choices(version)
        self.fields["pool_collections"].choices = self.fields["voting_collections"].choices = collection_choices()
        if study is None:
            self.fields["model_version"].initial = version
            self.fields["pool_count"].initial, self.fields["voting_count"].initial = 40, 16
            every = [name for name, _ in self.fields["pool_collections"].choices]
            self.fields["pool_collections"].initial = self.fields["voting_collections"].initial = every
        else:
            self.fields["slug"].disabled = True

    def clean(self):
        """The photos asked for are drawn here, so that a shortfall is an error on the form, never silently fewer."""
        data = super().clean()
        drawn: set[int] = set()  # voting photos are never in the pool, the one drawn now or the one kept
        if self.study is not None and not data.get("pool_count"):
            drawn = set(self.study.picking_round.pool_photos.values_list("pk", flat=True))
        for what, label in (("pool", "picking pool"), ("voting", "voting photos")):
            count, collections = data.get(f"{what}_count"), data.get(f"{what}_collections")
            if self.study is None and not count:
                self.add_error(f"{what}_count", "How many photos?")
            if count and not collections:
                self.add_error(f"{what}_collections", "Choose at least one collection.")
            if not (count and collections):
                continue
            available = list(Photo.objects.filter(collection__in=collections).exclude(pk__in=drawn).order_by("pk"))
            if len(available) < count:
                others = " outside the picking pool" if drawn else ""
                self.add_error(f"{what}_count", (
                    f"The {label} asks for {count} photos, but the chosen collections have {len(available)}{others}. "
                    f"Ask for fewer, choose more collections, or {IMPORT_HINT}."
                ))
                continue
            data[f"{what}_photos"] = self.rng.sample(available, count)
            drawn.update(photo.pk for photo in data[f"{what}_photos"])
        return data

    def to_config(self) -> dict:
        """The configuration dict of `services.study_configure` (with the photos drawn by `clean`)."""
        data, study = self.cleaned_data, self.study
        pool = data.get("pool_photos") or list(study.picking_round.pool_photos.all())
        voting = data.get("voting_photos") or list(study.voting_photos.all())
        methods = []
        for value in data["methods"]:
            kind, _, style = value.partition(":")
            methods.append({"kind": kind, "style": style, "label": ""})
        if study is not None:  # keep the labels researchers gave (e.g. in the admin or an import)
            labels = {(m.kind, m.style): m.label for m in study.methods.all()}
            for method in methods:
                method["label"] = labels.get((method["kind"], method["style"]), "")
        config = {name: data[name] for name in (
            "title", "consent_text", "instructions", "min_picks", "max_picks", "set_size", "scheme", "pool_styles",
            "model_version", "trials_per_participant", "attention_checks", "max_failed_checks", "participant_quota",
            "completion_code", "completion_url", "failed_code", "failed_url",
        )}
        config.update(slug=study.slug if study else data["slug"], pool_photos=pool, voting_photos=voting,
                      methods=methods)
        return config

    @classmethod
    def initial_for(cls, study: Study) -> dict:
        picking_round = study.picking_round
        initial = {name: getattr(study, name) for name in (
            "slug", "title", "consent_text", "instructions", "pool_styles", "model_version", "trials_per_participant",
            "attention_checks", "max_failed_checks", "participant_quota", "completion_code", "completion_url",
            "failed_code", "failed_url",
        )}
        picking = ("min_picks", "max_picks", "set_size", "scheme")
        initial.update({name: getattr(picking_round, name) for name in picking})
        initial["methods"] = [m.key for m in study.methods.all()]
        return initial

