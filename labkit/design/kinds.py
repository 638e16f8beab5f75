"""The kinds of value a design field holds. Each checks a value exactly as the parser does (`convert`: the value,
or Invalid with the reason shown to the user) and describes itself for the JSON Schema (`schema`) and the field
reference (`type_name`, `allowed`), so that the three cannot disagree."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labkit.design.catalog import esr_models
from labkit.design.fields import Invalid, address, choice, integer, interface, network, text

OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
IPV4 = rf"{OCTET}(\.{OCTET}){{3}}"
PREFIX = r"/(3[0-2]|[12]?[0-9])"


class Value(ABC):
    """A scalar or list value, read with `Fields.take`."""

    @abstractmethod
    def convert(self, value: Any) -> Any: ...

    @abstractmethod
    def schema(self) -> dict[str, Any]: ...

    @abstractmethod
    def type_name(self) -> str: ...

    def allowed(self) -> str:
        return ""


@dataclass(frozen=True)
class Integer(Value):
    low: int
    high: int
    step: int = 1
    step_why: str = ""  # why the value counts in steps, the start of the reason a value off-step gets

    def convert(self, value: Any) -> int:
        number = integer(self.low, self.high)(value)
        if number % self.step:
            raise Invalid(f"{self.step_why}; use a multiple of {self.step}, e.g. "
                          f"{number // self.step * self.step or self.step}")
        return number

    def schema(self) -> dict[str, Any]:
        steps = {"multipleOf": self.step} if self.step > 1 else {}
        return {"type": "integer", "minimum": self.low, "maximum": self.high, **steps}

    def type_name(self) -> str:
        return "integer"

    def allowed(self) -> str:
        steps = f", a multiple of {self.step}" if self.step > 1 else ""
        return f"{self.low} to {self.high}{steps}"


@dataclass(frozen=True)
class Text(Value):
    pattern: str | None = None  # the whole text must match it
    hint: str = ""  # appended to the reason a wrong text gets: "; use ..." says what the pattern allows
    min_len: int = 1

    def convert(self, value: Any) -> str:
        return text(self.pattern, self.hint, self.min_len)(value)

    def schema(self) -> dict[str, Any]:
        pattern = {"pattern": f"^{self.pattern}$"} if self.pattern else {}
        return {"type": "string", "minLength": self.min_len, **pattern}

    def type_name(self) -> str:
        return "text"

    def allowed(self) -> str:
        if self.pattern:
            return self.hint.removeprefix("; use ")
        return f"at least {self.min_len} characters" if self.min_len > 1 else "any text"


@dataclass(frozen=True)
class Choice(Value):
    options: tuple[str | int, ...]

    def convert(self, value: Any) -> Any:
        return choice(*self.options)(value)

    def schema(self) -> dict[str, Any]:
        return {"type": self.type_name(), "enum": list(self.options)}

    def type_name(self) -> str:
        return "integer" if all(isinstance(o, int) for o in self.options) else "string"

    def allowed(self) -> str:
        return ", ".join(map(str, self.options))


@dataclass(frozen=True)
class Ip(Value):
    """An IPv4 address, network or address with prefix, written as text."""

    name: str
    check: Callable[[Any], Any]
    pattern: str
    example: str
    format: str | None = None  # the JSON Schema format, where one exists

    def convert(self, value: Any) -> Any:
        return self.check(value)

    def schema(self) -> dict[str, Any]:
        form = {"format": self.format} if self.format else {}
        return {"type": "string", "pattern": f"^{self.pattern}$", **form}

    def type_name(self) -> str:
        return self.name

    def allowed(self) -> str:
        return f"e.g. {self.example}"


NETWORK = Ip("IPv4 network", network, IPV4 + PREFIX, "10.255.0.0/24")
INTERFACE = Ip("IPv4 address/prefix", interface, IPV4 + PREFIX, "10.0.0.1/24")
ADDRESS = Ip("IPv4 address", address, IPV4, "10.255.0.1", format="ipv4")


@dataclass(frozen=True)
class Esr(Value):
    """The name of an ESR model of labkit/data/esr_models.yml that can take the role; the model's entry."""

    role: str

    def names(self) -> list[str]:
        return [name for name, model in esr_models().items() if self.role in model.roles]

    def convert(self, value: Any) -> Any:
        models = esr_models()
        if value not in models:
            raise Invalid(f"unknown ESR model {value!r}; known models: {', '.join(models)}")
        if self.role not in models[value].roles:
            raise Invalid(f"{value} is not a {self.role} model; use one of: {', '.join(self.names())}")
        return models[value]

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": self.names()}

    def type_name(self) -> str:
        return f"{self.role} model"

    def allowed(self) -> str:
        return ", ".join(self.names())


@dataclass(frozen=True)
class EsrList(Value):
    """A non-empty list of ESR model names; whether each can take the role, the parser checks once the list is
    read (and names the role's models)."""

    role: str

    def convert(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not value:
            raise Invalid("must be a non-empty list of ESR model names, e.g. [ESR-15, ESR-30]")
        return [str(v) for v in value]

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "minItems": 1, "items": Esr(self.role).schema()}

    def type_name(self) -> str:
        return f"list of {self.role} models"

    def allowed(self) -> str:
        return Esr(self.role).allowed()


@dataclass(frozen=True)
class Catalogued(Value):
    """A list of names from a catalogue of labkit/data, each once; their entries."""

    catalog: Callable[[], dict[str, Any]]
    what: str
    example: str

    def convert(self, value: Any) -> tuple[Any, ...]:
        known = self.catalog()
        if not isinstance(value, list) or not value:
            raise Invalid(f"must be a list of {self.what}s, e.g. [{self.example}]; known: {', '.join(known)}")
        unknown = [str(v) for v in value if v not in known]
        if unknown:
            raise Invalid(f"unknown {self.what} {', '.join(unknown)}; known: {', '.join(known)}")
        if len(set(value)) < len(value):
            raise Invalid(f"lists a {self.what} twice")
        return tuple(known[v] for v in value)

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "minItems": 1, "uniqueItems": True,
                "items": {"type": "string", "enum": list(self.catalog())}}

    def type_name(self) -> str:
        return f"list of {self.what}s"

    def allowed(self) -> str:
        return ", ".join(self.catalog())


@dataclass(frozen=True)
class SpokeNames(Value):
    """A list of spoke names, each once; whether each names a spoke, the parser checks once the spokes are known."""

    def convert(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise Invalid("must be a list of spoke names, e.g. [spoke1, spoke3]")
        if len(set(value)) < len(value):
            raise Invalid("lists a spoke twice")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string"}}

    def type_name(self) -> str:
        return "list of spoke names"
