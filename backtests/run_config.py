"""The effective configuration of a run: a Backtest spec version plus overrides.

Overrides may replace ``params``, ``market`` and ``execution`` fields. The merged
document is validated exactly like a spec (same JSON Schemas, same strategy
parameter schema), so an override can never smuggle in what a spec could not.
"""

from __future__ import annotations

import copy
from typing import Any

from jobs.errors import JobError
from specs.models import Spec

OVERRIDABLE = ("params", "market", "execution")


class RunConfigError(JobError):
    """Bad overrides or an unknown spec; ``errors`` maps a field path to messages."""


def backtest_spec_for(user, ref: str | int, version: int | None = None) -> Spec:
    """The Backtest spec ``ref`` (a name, or a numeric id of an exact version) visible to ``user``."""
    specs = Spec.objects.filter(kind="Backtest")
    if not user.is_staff:
        specs = specs.filter(owner=user)
    ref_text = str(ref).strip()
    if ref_text.isdigit() and version is None:
        spec = specs.filter(pk=int(ref_text)).first()
        if spec is None:
            raise RunConfigError(
                f"no Backtest spec with id {ref_text}", {"spec": [f"no Backtest spec with id {ref_text}"]}
            )
        return spec
    # Names are unique per owner, so a name always means the caller's own spec.
    named = specs.filter(name=ref_text, owner=user)
    spec = named.filter(version=version).first() if version else named.order_by("-version").first()
    if spec is None:
        what = f"{ref_text!r} version {version}" if version else repr(ref_text)
        raise RunConfigError(f"no Backtest spec named {what}", {"spec": [f"no Backtest spec named {what}"]})
    return spec


def effective_config(spec: Spec, overrides: dict[str, Any]) -> dict[str, Any]:
    """Spec data with ``overrides`` merged in and re-validated; the dict a run executes."""
    from specs.validation import normalise_backtest, validate_backtest_data

    if not isinstance(overrides, dict):
        raise RunConfigError("overrides must be a mapping", {"overrides": ["must be a mapping"]})
    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        message = f"cannot override {', '.join(unknown)}; only {', '.join(OVERRIDABLE)}"
        raise RunConfigError(message, {f"overrides.{key}": [message] for key in unknown})
    data = copy.deepcopy(spec.data)
    for section, changes in overrides.items():
        if not isinstance(changes, dict):
            raise RunConfigError(
                f"overrides.{section} must be a mapping", {f"overrides.{section}": ["must be a mapping"]}
            )
        data.setdefault(section, {}).update(changes)
    errors = validate_backtest_data(data)
    if errors:
        raise RunConfigError(
            "the overrides make an invalid Backtest: " + "; ".join(f"{path}: {msg}" for path, msg in errors),
            {
                f"overrides.{path}" if path.split(".")[0] in OVERRIDABLE else path: [msg]
                for path, msg in errors
            },
        )
    return normalise_for_run(normalise_backtest(data))


def normalise_for_run(data: dict[str, Any]) -> dict[str, Any]:
    """Keep what the engine needs: strategy, params, market, execution, report."""
    return {
        key: data.get(key) for key in ("strategy", "params", "market", "execution", "report") if key in data
    }
