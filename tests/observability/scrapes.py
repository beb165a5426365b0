"""Reading a /metrics page in tests: samples by name and labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """``{(sample name, frozenset of label pairs): value}`` of a Prometheus text page."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(page: dict, name: str, **labels: str) -> float:
    """The sum of the samples ``name`` whose labels include ``labels`` (0 when none):
    the multiprocess page of a single process carries no pid label, but a sum is
    what Prometheus would see either way."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in page.items() if n == name and wanted <= ls)
