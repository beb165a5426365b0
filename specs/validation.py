"""Validating parsed spec documents and normalising them into the data runs read.

Per document: the kind's JSON Schema (``specs/schemas/*.schema.json``), then the
strategy's own parameter schema, then the checks a schema cannot say (end after start,
margin below 1/leverage, table sort columns). Across documents: unique names, the
references (a Backtest's ``report``, a Sweep's ``backtest``, found in the same files or
through ``lookup`` among stored specs), and a Sweep's space, constraints and size
against its strategy. Every problem is reported, each with its document, path, line
and column; a document is normalised (defaults filled in, numbers canonical) only when
the whole set is valid.

Framework-free: no Django; stored specs are reached only through ``lookup``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from engine.config import liquidated_at_once, margin_message
from specs.errors import SpecError, SpecValidationError
from specs.explain import describe, schema_errors
from specs.expressions import ExpressionError, compile_expression
from specs.json_schemas import (
    KINDS,
    kind_schema,
    kind_validator,
    params_schema,
    params_validator,
    schema_defaults,
)
from specs.kinds import sweep_rules
from specs.layout_rules import SECTION_OPTION_OWNERS, TABLE_COLUMNS
from specs.normalise import (
    format_instant,
    normalise_backtest,
    normalise_report_layout,
    normalise_sweep,
    parse_instant,
)
from specs.parsing import DEFAULT_MAX_BYTES, Document, PathT, parse_text
from strategies.registry import StrategyDef, all_strategies, get_strategy

DEFAULT_MAX_COMBINATIONS = 100_000

# (kind, name) -> that spec's stored data (latest version), or None
Lookup = Callable[[str, str], Mapping[str, Any] | None]


def _no_lookup(kind: str, name: str) -> None:
    return None


@dataclass
class ValidatedDocument:
    """A valid document and its normalised data (what ``Spec.data`` stores)."""

    document: Document
    kind: str
    name: str
    data: dict[str, Any]


@dataclass
class _State:
    document: Document
    kind: str
    errors: list[SpecError]
    strategy: StrategyDef | None = None
    # a Sweep's swept parameters, each with the optimiser's axis (specs.kinds)
    axes: dict[str, Any] = field(default_factory=dict)
    grid_size: int = 0
    feasible_size: int | None = None

    @property
    def data(self) -> dict[str, Any]:
        return self.document.data

    def add(self, path: PathT, message: str, *, key: bool = False) -> None:
        self.errors.append(self.document.error(path, message, key=key))


def _path_of(exc: Exception) -> PathT:
    """``space.rsi_period.values[0]`` (an owning app's error path) as a spec path."""
    parts: list[str | int] = []
    for part in str(getattr(exc, "path", "")).split("."):
        name, *indexes = part.replace("]", "").split("[")
        parts.append(name)
        parts.extend(int(index) for index in indexes)
    return tuple(parts)


def _has(data: Any, key: str) -> bool:
    return isinstance(data, dict) and bool(data.get(key))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Checker:
    def __init__(self, documents: Sequence[Document], lookup: Lookup, max_combinations: int):
        self.documents = documents
        self.lookup = lookup
        self.max_combinations = max_combinations
        self.errors: list[SpecError] = []
        self.states: list[_State] = []

    def run(self) -> tuple[list[ValidatedDocument], list[SpecError]]:
        for document in self.documents:
            state = self.check_document(document)
            if state is not None:
                self.states.append(state)
        self.check_names()
        for state in self.states:
            if state.kind == "Backtest":
                self.check_report_reference(state)
            elif state.kind == "Sweep":
                self.check_sweep_reference(state)
        errors = self.errors + [error for state in self.states for error in state.errors]
        if errors:
            return [], sorted(errors, key=SpecError.sort_key)
        return [self.normalised(state) for state in self.states], []

    def normalised(self, state: _State) -> ValidatedDocument:
        if state.kind == "Backtest":
            data = normalise_backtest(state.data)
        elif state.kind == "ReportLayout":
            data = normalise_report_layout(state.data)
        else:
            assert state.strategy is not None
            data = normalise_sweep(state.data, state.strategy, state.axes, state.feasible_size)
        return ValidatedDocument(state.document, state.kind, data["name"], data)

    # --- one document ---------------------------------------------------------------

    def check_document(self, document: Document) -> _State | None:
        data = document.data
        if not isinstance(data, dict):
            message = f"a spec document must be a mapping with kind and name, got {describe(data)}"
            self.errors.append(document.error((), message))
            return None
        kinds = ", ".join(KINDS)
        if "kind" not in data:
            self.errors.append(document.error(("kind",), f"missing required key 'kind' (one of {kinds})"))
            return None
        if data["kind"] not in KINDS:
            message = f"unknown kind {data['kind']!r}; expected one of {kinds}"
            self.errors.append(document.error(("kind",), message))
            return None
        state = _State(document, data["kind"], schema_errors(document, kind_validator(data["kind"]), data))
        getattr(self, f"check_{state.kind.lower()}")(state)
        return state

    def check_backtest(self, state: _State) -> None:
        data = state.data
        name = data.get("strategy")
        if isinstance(name, str):
            try:
                state.strategy = get_strategy(name)
            except KeyError as exc:
                state.add(("strategy",), str(exc.args[0]))
        params = data.get("params", {})
        params_ok = False
        if state.strategy is not None and isinstance(params, dict):
            errors = schema_errors(state.document, params_validator(state.strategy.name), params, ("params",))
            state.errors.extend(errors)
            params_ok = not errors
        if params_ok:
            assert state.strategy is not None
            full = state.strategy.with_defaults(params)
            for constraint in state.strategy.constraints:
                expression = compile_expression(constraint)
                if expression.names <= set(full) and not expression(full):
                    state.add(("params",), f"the parameters break the strategy's rule '{constraint}'")
        market = data.get("market")
        if isinstance(market, dict):
            instants = {}
            for key in ("start", "end"):
                if isinstance(market.get(key), str):
                    try:
                        instants[key] = parse_instant(market[key])
                    except ValueError as exc:
                        state.add(("market", key), f"{market[key]!r} is not a valid date or date-time: {exc}")
            if len(instants) == 2 and instants["end"] <= instants["start"]:
                state.add(
                    ("market", "end"),
                    f"end {format_instant(instants['end'])} is not after "
                    f"start {format_instant(instants['start'])}",
                )
        execution = data.get("execution", {})
        if params_ok and isinstance(execution, dict):
            assert state.strategy is not None
            leverage = state.strategy.with_defaults(params).get("leverage")
            defaults = schema_defaults(kind_schema("Backtest")["properties"]["execution"])
            rate = execution.get("maintenance_margin_rate", defaults["maintenance_margin_rate"])
            if _number(leverage) and _number(rate) and liquidated_at_once(leverage, rate):
                where = (
                    ("execution", "maintenance_margin_rate")
                    if "maintenance_margin_rate" in execution
                    else ("params", "leverage")
                )
                state.add(where, margin_message(rate, leverage))

    def check_sweep(self, state: _State) -> None:
        """The checks that need no strategy; the rest is check_sweep_reference's."""
        data = state.data
        genetic = data.get("genetic")
        if isinstance(genetic, dict):
            defaults = schema_defaults(kind_schema("Sweep")["properties"]["genetic"])
            settings = {**defaults, **genetic}
            population, generations = settings["population"], settings["generations"]
            elite, tournament = settings["elite"], settings["tournament_size"]
            if _number(population) and _number(elite) and elite >= population:
                state.add(("genetic", "elite"), f"elite {elite} must be smaller than population {population}")
            if _number(population) and _number(tournament) and tournament > population:
                message = f"tournament_size {tournament} must be at most population {population}"
                state.add(("genetic", "tournament_size"), message)
            if (
                _number(population)
                and _number(generations)
                and population * generations > self.max_combinations
            ):
                state.add(
                    ("genetic",),
                    f"population × generations = {population * generations} evaluations, more than the "
                    f"limit of {self.max_combinations} (SWEEP_MAX_COMBINATIONS)",
                )
        random = data.get("random")
        if (
            isinstance(random, dict)
            and _number(random.get("samples"))
            and random["samples"] > self.max_combinations
        ):
            state.add(
                ("random", "samples"),
                f"{random['samples']} samples, more than the limit of {self.max_combinations} "
                "(SWEEP_MAX_COMBINATIONS)",
            )

    def check_reportlayout(self, state: _State) -> None:
        sections = state.data.get("sections")
        if not isinstance(sections, list):
            return
        for i, section in enumerate(sections):
            if not isinstance(section, dict):
                continue
            sort = section.get("sort")
            if section.get("type") == "table" and isinstance(sort, str) and re.fullmatch(r"-?[a-z_]+", sort):
                columns = TABLE_COLUMNS.get(section.get("table"))  # type: ignore[arg-type]
                column = section["sort"].removeprefix("-")
                if columns is not None and column not in columns:
                    state.add(
                        ("sections", i, "sort"),
                        f"cannot sort the {section['table']} table by '{column}' "
                        f"(columns: {', '.join(columns)})",
                    )
            if (
                section.get("type") == "table"
                and sort is not None
                and section.get("table") not in TABLE_COLUMNS
            ):
                state.add(
                    ("sections", i, "sort"), "sort applies only to the trades and monthly tables", key=True
                )
            for option, kind, owner in SECTION_OPTION_OWNERS:
                if section.get("type") == kind and option in section and section.get(kind) != owner:
                    state.add(("sections", i, option), f"{option} applies only to {kind}: {owner}", key=True)

    # --- across documents -------------------------------------------------------------

    def check_names(self) -> None:
        seen: dict[tuple[str, str], Document] = {}
        for state in self.states:
            name = state.data.get("name")
            if not isinstance(name, str):
                continue
            first = seen.setdefault((state.kind, name), state.document)
            if first is not state.document:
                where = f"document {first.index}" + (
                    f" of {first.source}" if first.source != state.document.source else ""
                )
                state.add(("name",), f"duplicate {state.kind} name '{name}' (also {where})")

    def find(self, kind: str, name: str) -> tuple[bool, Mapping[str, Any] | None]:
        """(found, its data): in these documents first, then among stored specs."""
        for state in self.states:
            if state.kind == kind and state.data.get("name") == name:
                return True, state.data
        stored = self.lookup(kind, name)
        return stored is not None, stored

    def check_report_reference(self, state: _State) -> None:
        report = state.data.get("report")
        if isinstance(report, str) and not self.find("ReportLayout", report)[0]:
            state.add(("report",), f"no ReportLayout named '{report}' in these files or stored for you")

    def check_sweep_space(self, state: _State, strategy: StrategyDef, base: Mapping[str, Any]) -> None:
        """The space, constraints and size of a Sweep against its strategy.

        ``base`` is the Backtest's params with defaults: the values of unswept parameters.
        """
        data = state.data
        props = params_schema(strategy)["properties"]
        space = data.get("space")
        sizes: list[int] = []
        complete = isinstance(space, dict)
        for param, entry in space.items() if isinstance(space, dict) else ():
            if param not in props:
                state.add(
                    ("space", param),
                    f"'{param}' is not a parameter of strategy {strategy.name} "
                    f"(parameters: {', '.join(props)})",
                    key=True,
                )
                complete = False
                continue
            axis = self.check_space_entry(state, param, props, entry)
            if axis is None:
                complete = False
                continue
            state.axes[param] = axis
            sizes.append(axis.size)
        compiled = []
        constraints_ok = True
        for i, constraint in enumerate(data.get("constraints") or []):
            if not isinstance(constraint, str):
                constraints_ok = False  # the schema has said so
                continue
            try:
                compiled.append((("constraints", i), compile_expression(constraint, names=props)))
            except ExpressionError as exc:
                state.add(("constraints", i), f"invalid constraint: {exc}")
                constraints_ok = False
        if complete:
            state.grid_size = math.prod(sizes)
            if data.get("method", "grid") == "grid" and state.grid_size > self.max_combinations:
                state.add(
                    ("space",),
                    f"the grid has {state.grid_size} combinations, more than the limit of "
                    f"{self.max_combinations} "
                    "(SWEEP_MAX_COMBINATIONS); narrow the space or use method: genetic or random",
                )
            elif constraints_ok and state.grid_size <= self.max_combinations:
                self.count_feasible(state, strategy, props, base, [e.source for _, e in compiled])

    def count_feasible(
        self,
        state: _State,
        strategy: StrategyDef,
        props: Mapping[str, Any],
        base: Mapping[str, Any],
        constraints: list[str],
    ) -> None:
        """How many grid combinations meet every constraint (the optimiser's count)."""
        rules = sweep_rules()
        try:
            state.feasible_size = rules.feasible(
                list(state.axes.values()),
                constraints=constraints,
                builtin=strategy.constraints,
                base=base,
                names=list(props),
            )
        except rules.error as exc:
            state.add(_path_of(exc), exc.message)  # type: ignore[attr-defined]
            return
        if state.feasible_size == 0:
            every = [*constraints, *(rule for rule in strategy.constraints if rule not in constraints)]
            state.add(
                ("constraints",) if _has(state.data, "constraints") else ("space",),
                f"none of the {state.grid_size} combinations meets the constraints ({'; '.join(every)})",
            )

    def check_space_entry(self, state: _State, param: str, props: Mapping[str, Any], entry: Any) -> Any:
        """The optimiser's axis of one space entry (None when it is invalid): each value
        against the parameter's schema first, for the schema's own messages."""
        if not isinstance(entry, dict):
            return None
        path: PathT = ("space", param)
        validator = Draft202012Validator(props[param])
        before = len(state.errors)
        if "values" in entry and not {"min", "max", "step"} & set(entry):
            values = entry["values"]
            if not isinstance(values, list) or not values:
                return None
            for i, value in enumerate(values):
                state.errors.extend(schema_errors(state.document, validator, value, (*path, "values", i)))
        elif not all(_number(entry.get(key)) for key in ("min", "max", "step")) or "values" in entry:
            return None  # the schema has said what is wrong
        elif props[param].get("type") in ("integer", "number"):
            for key in ("min", "max"):
                state.errors.extend(schema_errors(state.document, validator, entry[key], (*path, key)))
        if len(state.errors) != before:
            return None
        rules = sweep_rules()
        try:
            return rules.axis(param, entry, props, max_values=self.max_combinations)
        except rules.error as exc:
            state.add(_path_of(exc), exc.message)  # type: ignore[attr-defined]
            return None

    def check_sweep_reference(self, state: _State) -> None:
        backtest = state.data.get("backtest")
        if not isinstance(backtest, str):
            return
        found, data = self.find("Backtest", backtest)
        if not found:
            state.add(("backtest",), f"no Backtest named '{backtest}' in these files or stored for you")
            return
        name = data.get("strategy") if data is not None else None
        try:
            strategy = get_strategy(name) if isinstance(name, str) else None
        except KeyError:
            strategy = None  # the Backtest's own error says so
        if strategy is not None and strategy.sweep is None:
            sweepable = ", ".join(s.name for s in all_strategies() if s.sweep is not None)
            state.add(
                ("backtest",),
                f"Backtest '{backtest}' runs strategy '{strategy.name}', which declares no sweep adapter "
                f"and cannot be swept (sweepable: {sweepable})",
            )
        elif strategy is not None:
            state.strategy = strategy
            params = data.get("params") if data is not None else None
            base = strategy.with_defaults(params if isinstance(params, dict) else {})
            self.check_sweep_space(state, strategy, base)


def validate_documents(
    documents: Sequence[Document],
    *,
    lookup: Lookup | None = None,
    max_combinations: int = DEFAULT_MAX_COMBINATIONS,
) -> tuple[list[ValidatedDocument], list[SpecError]]:
    """Check ``documents`` (of one or several files, checked as one set).

    Returns the validated documents, in order, when there is no error at all, else
    ``([], errors)`` with every error found, sorted by file, document, line and column.
    ``lookup(kind, name)`` gives the stored data of a spec referenced but not in the set.
    """
    return _Checker(documents, lookup or _no_lookup, max_combinations).run()


def validate_text(
    text: str,
    *,
    source: str = "<input>",
    lookup: Lookup | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_combinations: int = DEFAULT_MAX_COMBINATIONS,
) -> list[ValidatedDocument]:
    """Parse and check one spec file with no database; ``SpecValidationError`` if invalid."""
    parsed = parse_text(text, source=source, max_bytes=max_bytes)
    validated, errors = validate_documents(parsed.documents, lookup=lookup, max_combinations=max_combinations)
    if parsed.errors or errors:
        raise SpecValidationError([*parsed.errors, *errors])
    return validated


def validate_backtest_data(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(path, message)`` for each problem of a Backtest given as data (no positions).

    For data that did not come from a file, e.g. a stored spec's data with run overrides
    merged in. References (``report``) are not checked.
    """
    if data.get("kind") != "Backtest":
        return [("kind", f"expected 'Backtest', got {describe(data.get('kind'))}")]
    document = Document(source="<data>", index=1, data=dict(data), text="")
    checker = _Checker([document], _no_lookup, DEFAULT_MAX_COMBINATIONS)
    state = checker.check_document(document)
    errors = checker.errors + (state.errors if state is not None else [])
    return [(error.path, error.message) for error in sorted(errors, key=SpecError.sort_key)]
