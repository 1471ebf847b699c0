"""Storage for private files: a folder outside MEDIA_ROOT (PIENET_PRIVATE_ROOT) that has no URL, so
neither Django's media view (SERVE_MEDIA) nor a web server in front of the media folder can serve them."""
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.functional import cached_property


class PrivateStorage(FileSystemStorage):
    @cached_property
    def base_location(self):
        return self._value_or_setting(self._location, settings.PIENET_PRIVATE_ROOT)

    def _clear_cached_properties(self, setting, **kwargs):
        """Follow PIENET_PRIVATE_ROOT when it changes (tests), as the parent follows MEDIA_ROOT."""
        super()._clear_cached_properties(setting, **kwargs)
        if setting == "PIENET_PRIVATE_ROOT":
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)

    def url(self, name):
        raise ValueError("Private files have no URL.")


_private_storage = PrivateStorage()


def private_storage() -> PrivateStorage:
    """The storage of FileFields holding private files (a callable, so migrations name it, not a path)."""
    return _private_storage
