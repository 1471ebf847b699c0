from django import forms
from django.conf import settings
from django.contrib import admin, messages

from ml.images import ImageError, load_image_uint8
from webapp.core import services
from webapp.core.models import Enhancement, Job, ModelVersion, Photo


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "sha256", "created_at", "activated_at"]
    list_filter = ["status"]
    readonly_fields = ["sha256", "checkpoint_path", "config", "styles", "status", "created_at", "activated_at"]
    actions = ["activate"]

    def has_add_permission(self, request):
        return False  # checkpoints are validated and hashed by `manage.py register_model`

    @admin.action(description="Make the selected version the active model")
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = services.model_version_activate(version=queryset.get())
        self.message_user(request, f"{version.name} is now the active model.")


class PhotoUploadForm(forms.ModelForm):
    """Adding a photo in the admin uploads a file; the service stores it once per content hash."""

    upload = forms.FileField(help_text="A photo file (JPEG, PNG, WebP, TIFF); the same content is stored once.")

    class Meta:
        model = Photo
        fields = ["title", "collection"]

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        if upload.size > settings.PIENET_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {settings.PIENET_MAX_UPLOAD_BYTES} bytes.")
        try:
            load_image_uint8(upload.read(), max_pixels=settings.PIENET_MAX_UPLOAD_PIXELS)
        except ImageError as error:
            raise forms.ValidationError(str(error)) from None
        upload.seek(0)
        return upload


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "collection", "width", "height", "is_demo", "created_at"]
    list_filter = ["collection", "is_demo"]
    search_fields = ["title", "content_hash"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = PhotoUploadForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["upload", "title", "collection"] if obj is None else super().get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        upload = form.cleaned_data["upload"]
        photo, _ = services.photo_create(
            data=upload.read(), title=obj.title or upload.name, collection=obj.collection or "upload"
        )
        obj.pk = photo.pk
        obj.refresh_from_db()


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress", "model_version", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [field.name for field in Job._meta.fields]


@admin.register(Enhancement)
class EnhancementAdmin(admin.ModelAdmin):
    list_display = ["photo", "model_version", "style", "strength", "seconds", "created_at"]
    list_filter = ["model_version", "style"]
