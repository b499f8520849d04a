"""Errors a user can fix. The CLI prints them as one line and exits with status 2."""


class UserError(Exception):
    """Something the user can fix: bad input, a missing file, an invalid setting."""


class DataError(UserError, ValueError):
    """A dataset file that cannot be read or is malformed; the message names file and line."""


class BackboneNotFoundError(UserError, OSError):
    """The backbone weights are not in the local Hugging Face cache."""


class CheckpointError(UserError, ValueError):
    """A checkpoint folder that is missing, tampered with or built for another configuration."""


class StorageError(UserError, OSError):
    """A file or folder that cannot be written: disk full, read-only, no permission, a file in
    the way. Whatever was there before is left as it was."""
