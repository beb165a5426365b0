"""Broken spec files and the errors each must give: (path, line, column, message fragment).

Shared by the table-driven test of the service and the test that the command line, the
admin form and the API report exactly the same errors. ``column`` is None where a
column means nothing (a whole-file problem).
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.specs.conftest import BACKTEST, LAYOUT, SWEEP, join


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    expected: list[tuple[str, int | None, int | None, str]]


def _bomb() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "kind: Backtest\n" + "\n".join(lines) + "\n"


def _backtest(**replace: str) -> str:
    text = BACKTEST
    for old, new in replace.items():
        old = old.replace("__", ": ")
        assert old in text, old
        text = text.replace(old, new)
    return text


def _sweep(space: str = "", extra: str = "") -> str:
    text = SWEEP
    if space:
        text = text.replace("  rsi_period: {min: 10, max: 20, step: 2}\n", space)
    return join(BACKTEST, text + extra)


CASES = [
    Case(
        "syntax-error",
        "kind: Backtest\nname: [unclosed\nstrategy: hyperrsi\n",
        [("", 3, 9, "invalid YAML")],
    ),
    Case(
        "tab-indentation",
        "kind: Backtest\nname: x\nparams:\n\trsi_period: 3\n",
        [("", 4, 1, "tab character")],
    ),
    Case(
        "wrong-type",
        _backtest(**{"rsi_period__14": "rsi_period: fourteen"}),
        [("params.rsi_period", 5, 15, "expected an integer, got the string 'fourteen'")],
    ),
    Case(
        "unknown-top-level-key",
        BACKTEST + "strategy_options: {}\n",
        [("strategy_options", 8, 1, "unknown key 'strategy_options' (allowed: kind, name,")],
    ),
    Case(
        "unknown-parameter",
        _backtest(**{"entry_option__reverse": "entry_option: reverse\n  rsi_perod: 7"}),
        [("params.rsi_perod", 7, 3, "unknown key 'rsi_perod' (allowed: rsi_period,")],
    ),
    Case(
        "out-of-bounds",
        _backtest(**{"rsi_period__14": "rsi_period: 0"}),
        [("params.rsi_period", 5, 15, "0 is less than the minimum of 2")],
    ),
    Case(
        "enum-mismatch",
        _backtest(**{"entry_option__reverse": "entry_option: sideways"}),
        [("params.entry_option", 6, 17, "'sideways' is not one of ['reverse', 'follow']")],
    ),
    Case(
        "unknown-strategy",
        _backtest(**{"strategy__hyperrsi": "strategy: hyperrs"}),
        [("strategy", 3, 11, "unknown strategy 'hyperrs' (known: ema_cross, hyperrsi")],
    ),
    Case(
        "missing-name",
        _backtest(**{"name__hyperrsi-btc-1h\n": ""}),
        [("name", 1, 1, "missing required key 'name'")],
    ),
    Case(
        "bad-name",
        _backtest(**{"name__hyperrsi-btc-1h": "name: Hyper RSI"}),
        [("name", 2, 7, "a name is lowercase letters, digits")],
    ),
    Case(
        "duplicate-name",
        join(BACKTEST, BACKTEST),
        [("name", 10, 7, "duplicate Backtest name 'hyperrsi-btc-1h' (also document 1)")],
    ),
    Case(
        "duplicate-key",
        BACKTEST + "name: again\n",
        [("name", 8, 1, "duplicate key 'name' (first at line 2)")],
    ),
    Case(
        "missing-report",
        BACKTEST + "report: standrd\n",
        [("report", 8, 9, "no ReportLayout named 'standrd' in these files or stored for you")],
    ),
    Case(
        "missing-backtest",
        SWEEP,
        [("backtest", 3, 11, "no Backtest named 'hyperrsi-btc-1h' in these files or stored for you")],
    ),
    Case(
        "swept-param-not-in-strategy",
        _sweep(space="  rsi_length: {values: [10, 14]}\n"),
        [("space.rsi_length", 13, 3, "'rsi_length' is not a parameter of strategy hyperrsi")],
    ),
    Case(
        "range-outside-bounds",
        _sweep(space="  rsi_period: {min: 10, max: 60, step: 5}\n"),
        [("space.rsi_period.max", 13, 30, "60 is greater than the maximum of 50")],
    ),
    Case(
        "value-outside-bounds",
        _sweep(space="  rsi_period: {values: [1, 14]}\n"),
        [("space.rsi_period.values[0]", 13, 25, "1 is less than the minimum of 2")],
    ),
    Case(
        "float-step-on-integer-param",
        _sweep(space="  rsi_period: {min: 10, max: 20, step: 0.5}\n"),
        [
            (
                "space.rsi_period.step",
                13,
                40,
                "step 0.5 is not a whole number, but rsi_period is an integer parameter",
            )
        ],
    ),
    Case(
        "range-and-values-together",
        _sweep(space="  rsi_period: {min: 10, max: 20, step: 2, values: [14]}\n"),
        [("space.rsi_period", 13, 15, "expected either {values: [...]} or {min, max, step}")],
    ),
    Case(
        "bad-constraint-syntax",
        _sweep().replace('["rsi_oversold < rsi_overbought"]', '["rsi_oversold <"]'),
        [("constraints[0]", 15, 15, "invalid constraint: expected a number, a name or '(' but found end of")],
    ),
    Case(
        "unknown-name-in-constraint",
        _sweep().replace('["rsi_oversold < rsi_overbought"]', '["rsi_oversold < rsi_ovrbought"]'),
        [("constraints[0]", 15, 15, "invalid constraint: unknown name 'rsi_ovrbought'")],
    ),
    Case(
        "constraints-exclude-every-combination",
        _sweep().replace('["rsi_oversold < rsi_overbought"]', '["rsi_period > 20"]'),
        [
            (
                "constraints",
                15,
                14,
                "none of the 12 combinations meets the constraints (rsi_period > 20; rsi_oversold",
            )
        ],
    ),
    Case(
        "constraint-on-an-unset-parameter",
        _sweep().replace('["rsi_oversold < rsi_overbought"]', '["take_profit_percent > 1"]'),
        [("constraints[0]", 15, 15, "cannot be evaluated: no value for 'take_profit_percent'")],
    ),
    Case(
        "elite-not-below-population",
        _sweep(extra="genetic: {population: 4, elite: 4}\n"),
        [("genetic.elite", 17, 33, "elite 4 must be smaller than population 4")],
    ),
    Case(
        "oversized-grid",
        _sweep(
            space="  rsi_period: {min: 2, max: 50, step: 1}\n"
            "  rsi_overbought: {min: 50, max: 100, step: 0.5}\n"
            "  stop_loss_percent: {min: 0.5, max: 10, step: 0.5}\n"
        ),
        [("space", 13, 3, "the grid has 197960 combinations, more than the limit of 100000")],
    ),
    Case(
        "yaml-bomb",
        _bomb(),
        [("", 1, 1, "expands to more than 100000 values")],
    ),
    Case(
        "oversized-file",
        BACKTEST + ("# padding padding padding padding padding padding padding padding\n" * 4200),
        [("", None, None, "larger than the limit of 262144 bytes (SPEC_MAX_BYTES)")],
    ),
    Case(
        "non-mapping-document",
        join(BACKTEST, "- kind: Backtest\n- name: x\n"),
        [("", 9, 1, "a spec document must be a mapping with kind and name, got a list")],
    ),
    Case(
        "unknown-kind",
        "kind: Backtests\nname: x\n",
        [("kind", 1, 7, "unknown kind 'Backtests'; expected one of Backtest, Sweep, ReportLayout")],
    ),
    Case(
        "missing-kind",
        "name: x\nstrategy: hyperrsi\n",
        [("kind", 1, 1, "missing required key 'kind'")],
    ),
    Case(
        "end-before-start",
        _backtest(**{"end__2024-06-30": "end: 2023-12-31"}),
        [("market.end", 7, 66, "end 2023-12-31T00:00:00Z is not after start 2024-01-01T00:00:00Z")],
    ),
    Case(
        "impossible-date",
        _backtest(**{"start__2024-01-01": "start: 2024-02-30"}),
        [("market.start", 7, 49, "'2024-02-30' is not a valid date or date-time")],
    ),
    Case(
        "timeframe-not-in-enum",
        _backtest(**{"timeframe__1h": "timeframe: 90m"}),
        [("market.timeframe", 7, 38, "'90m' is not one of ['1m', '3m', '5m', '15m'")],
    ),
    Case(
        "empty-file",
        "# nothing but a comment\n",
        [("", None, None, "the file has no documents")],
    ),
    Case(
        "missing-section",
        BACKTEST.replace(
            "market: {symbol: BTC-USD, timeframe: 1h, start: 2024-01-01, end: 2024-06-30}\n", ""
        ),
        [("market", 1, 1, "missing required key 'market'")],
    ),
    Case(
        "unknown-section-type",
        LAYOUT + "  - {type: heatmap}\n",
        [("sections[2].type", 6, 12, "'heatmap' is not one of ['metrics', 'chart', 'table', 'text']")],
    ),
    Case(
        "chart-option-on-another-chart",
        LAYOUT + "  - {type: chart, chart: drawdown, log: true}\n",
        [("sections[2].log", 6, 36, "log applies only to chart: equity")],
    ),
    Case(
        "sort-on-an-analytics-table",
        LAYOUT + "  - {type: table, table: drawdowns, sort: depth}\n",
        [("sections[2].sort", 6, 37, "sort applies only to the trades and monthly tables")],
    ),
    Case(
        "unknown-metric",
        LAYOUT.replace("sharpe_ratio]", "sharpe]"),
        [("sections[0].metrics[1]", 4, 45, "'sharpe' is not one of ['total_return'")],
    ),
    Case(
        "unsafe-tag",
        _backtest(**{"name__hyperrsi-btc-1h": "name: !!python/object/apply:os.system [echo]"}),
        [
            ("name", 2, 7, "expected a string, got a list"),
            ("name", 2, 7, "the YAML tag !!python/object/apply:os.system is not allowed"),
        ],
    ),
    Case(
        "margin-rate-at-leverage",
        BACKTEST.replace("  entry_option: reverse\n", "  leverage: 20\n")
        + "execution: {maintenance_margin_rate: 0.05}\n",
        [("execution.maintenance_margin_rate", 8, 38, "(0.05) must be below 1 / leverage (0.05)")],
    ),
    Case(
        "strategy-rule-broken",
        "kind: Backtest\nname: ema\nstrategy: ema_cross\nparams: {fast_period: 30, slow_period: 20}\n"
        "market: {symbol: BTC-USD, timeframe: 1h, start: 2024-01-01, end: 2024-06-30}\n",
        [("params", 4, 9, "the parameters break the strategy's rule 'fast_period < slow_period'")],
    ),
    Case(
        "nul-escape-in-text",
        _backtest(**{"strategy__hyperrsi": 'description: "a\\0b"\nstrategy: hyperrsi'}),
        [("description", 3, 14, "the text contains a NUL character (U+0000) at character 2")],
    ),
    Case(
        "lone-surrogate-escape",
        _backtest(**{"strategy__hyperrsi": 'description: "\\ud800"\nstrategy: hyperrsi'}),
        [("description", 3, 14, "the text contains a lone UTF-16 surrogate (U+D800) at character 1")],
    ),
    Case(
        "nul-escape-in-a-key",
        _backtest(**{"strategy__hyperrsi": '"k\\0": 1\nstrategy: hyperrsi'}),
        [("", 3, 1, "the key contains a NUL character (U+0000) at character 2")],
    ),
    Case(
        "several-errors-at-once",
        join(
            _backtest(**{"rsi_period__14": "rsi_period: 99", "timeframe__1h": "timeframe: 1H"}),
            SWEEP.replace("sharpe_ratio", "sharpe"),
        ),
        [
            ("params.rsi_period", 5, 15, "99 is greater than the maximum of 50"),
            ("market.timeframe", 7, 38, "'1H' is not one of"),
            ("objective.metric", 16, 21, "'sharpe' is not one of"),
        ],
    ),
]
