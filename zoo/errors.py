"""User-facing errors. The CLI turns any ZooError into a one-line message and exit code 2."""


class ZooError(Exception):
    """Base class for errors a user can fix (bad id, missing weights, bad input)."""


class UnknownModelError(ZooError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class RegistryCollisionError(ZooError):
    pass


class WeightsNotFoundError(ZooError):
    pass


class UnsafeCheckpointError(ZooError):
    """A pickle checkpoint (.bin/.ckpt/.pt) was offered where only safetensors are accepted."""


class CorruptWeightsError(ZooError):
    pass


class PluginLoadError(ZooError):
    pass


class HubAuthError(ZooError):
    pass
