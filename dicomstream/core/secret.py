"""Config values set with `pulumi config set --secret`: plain text for validation, secret to Pulumi.

The stack model validates secret strings like any other (they are `str`); `SecretTexts`, a
transformation of the root component, makes every input and output that holds one a secret, so a
value that was secret in the config is secret in the state and in `dicomstream plan` (shown as
`[secret]`). `repr` never shows the value, so no error message or log line can leak it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import pulumi


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


def secret_texts(values: Any) -> set[str]:
    """Every non-empty string inside `values` (the values of secret config keys)."""
    if isinstance(values, str):
        return {str(values)} if values else set()
    if isinstance(values, dict):
        return set().union(*(secret_texts(v) for v in values.values())) if values else set()
    if isinstance(values, (list, tuple)):
        return set().union(*(secret_texts(v) for v in values)) if values else set()
    return set()


class SecretTexts:
    """Hides every input and output string that holds a secret config value.

    One central place instead of a call in every component, and it also catches values built from a
    secret (a table URI holding a secret project id). As a transformation of the root component it
    reaches every child. A substring match may mark more than the secret itself, never less.
    """

    def __init__(self, texts: set[str]):
        self.texts = tuple(sorted(t for t in texts if t))

    def wrap(self, value: Any) -> Any:
        """`value` with each string that is or holds a secret as `pulumi.Output.secret`."""
        import pulumi

        if isinstance(value, str):
            hidden = isinstance(value, Secret) or any(t in value for t in self.texts)
            return pulumi.Output.secret(str(value)) if hidden else value
        if isinstance(value, dict):
            return {k: self.wrap(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.wrap(v) for v in value]
        if isinstance(value, pulumi.Output):
            return value.apply(self.wrap) if self.texts else value
        if hasattr(value, "__dict__") and not isinstance(value, pulumi.Resource):
            for name, item in vars(value).items():  # an `...Args` input type
                pulumi.set(value, name, self.wrap(item))
        return value

    def transformation(self) -> Callable[[pulumi.ResourceTransformationArgs], pulumi.ResourceTransformationResult]:
        """For `ResourceOptions(transformations=[...])`: the resource's inputs through `wrap`."""
        import pulumi

        warned: list[str] = []

        def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
            if not warned and any(text in args.name for text in self.texts):
                # Logical names and URNs are never encrypted; say so once, without repeating the value.
                warned.append(args.type_)
                pulumi.log.warn(f"a {args.type_} is named after a secret config value: names and URNs are "
                                "stored in plain text in the state; keep secrets out of ids that name resources")
            return pulumi.ResourceTransformationResult(props=self.wrap(args.props), opts=args.opts)

        return transform
