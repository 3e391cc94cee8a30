"""Config values set with `pulumi config set --secret`: plain text for validation, secret to Pulumi.

The stack model validates secret strings like any other (they are `str`), and every component passes
its inputs through `as_input`, so a value that was secret in the config is a secret output in the
state and in `dicomstream plan` (shown as `[secret]`). `repr` never shows the value, so no error
message or log line can leak it.
"""

from __future__ import annotations

from typing import Any


class Secret(str):
    """A config string that the user marked secret (engine: decrypted; offline: see `encrypted`)."""

    __slots__ = ()

    #: True when the plain text is not known (an offline `secure:` entry that cannot be decrypted).
    encrypted = False

    def __repr__(self) -> str:
        return "[secret]"


class EncryptedSecret(Secret):
    """An offline `secure: v1:...` entry: the plain text is unknown, so its rules cannot be checked."""

    __slots__ = ()
    encrypted = True


def is_secret(value: Any) -> bool:
    """True when `value` or anything inside it is a `Secret`."""
    if isinstance(value, Secret):
        return True
    if isinstance(value, dict):
        return any(is_secret(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_secret(item) for item in value)
    return False


def as_input(value: Any) -> Any:
    """A resource input: `pulumi.Output.secret(value)` when it holds a `Secret`, else `value`."""
    if not is_secret(value):
        return value
    import pulumi

    return pulumi.Output.secret(_plain(value))


def _plain(value: Any) -> Any:
    if isinstance(value, Secret):
        return str(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
