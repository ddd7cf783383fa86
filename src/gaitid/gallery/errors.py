"""What can go wrong with a gallery, each explained in one line (the CLI prints it and exits 2)."""

from gaitid.errors import GaitidError


class GalleryError(GaitidError):
    """A gallery cannot be used as asked."""


class NotAGalleryError(GalleryError):
    """The file given as the gallery is not one (another file, a foreign database, or damaged). Never written."""


class GalleryKeyError(GalleryError):
    """The encryption key is missing, wrong, or given for a gallery that is not encrypted."""


class UnknownPersonError(GalleryError):
    """No enrolled person has this name."""


class ModelMismatchError(GalleryError):
    """A probe's vector was made by a model that made none of the enrolled vectors."""


class EmptyGalleryError(GalleryError):
    """Nobody is enrolled (with the probe's model)."""
