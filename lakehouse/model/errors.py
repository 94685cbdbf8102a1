"""The one error type of the configuration layer.

Validation collects every problem and raises once, so a user fixes a whole
configuration in one pass instead of one key per `pulumi up`.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration or pipeline declaration is invalid.

    `problems` holds one line per problem, each naming the key, the value
    and what is allowed.
    """

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__(
            "invalid configuration:\n" + "\n".join(f"  - {p}" for p in self.problems)
        )


class Problems:
    """Collects problems; `raise_if_any` raises one ConfigError listing them all."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, key: str, value: object, allowed: str) -> None:
        self.items.append(f"{key}: got {value!r}; allowed: {allowed}")

    def extend(self, other: "Problems") -> None:
        self.items.extend(other.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.items)
