"""`manage.py sweep NAME [--wait | --inline] [--user U] [--json]`: start a sweep of a stored
Sweep spec.

Without --wait it queues the sweep and prints its id; with --wait it follows the
progress (evaluated / total, best so far) until the sweep ends and prints the top
combinations (at once an error when no worker is running); --inline runs the whole
sweep in this process instead. The owner is --user, else SPEC_OWNER, else the only
superuser.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction


class Command(BaseCommand):
    help = "Start (or start and follow) a sweep of a stored Sweep spec."

    def add_arguments(self, parser):
        parser.add_argument("name", help="a stored Sweep spec's name (latest version) or id")
        parser.add_argument(
            "--wait", action="store_true", help="follow the sweep to the end and print the best"
        )
        parser.add_argument(
            "--inline",
            action="store_true",
            help="run the sweep in this process (no worker needed) and print the best, like --wait",
        )
        parser.add_argument(
            "--user", help="owner of the spec and the sweep (default: SPEC_OWNER or the only superuser)"
        )
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")
        parser.add_argument("--top", type=int, default=5, help="with --wait: how many of the best to print")
        parser.add_argument(
            "--timeout", type=float, default=3600, help="--wait gives up after this many seconds"
        )

    def handle(self, *args, **opts):
        import optimizers.compile_ahead  # noqa: F401 (registers the kernels of sweeps and below)
        from engine.compile_ahead import ensure_compiled
        from jobs.follow import no_worker_message, run_inline
        from optimizers import services
        from specs.owners import resolve_owner

        # See the backtest command: a cold kernel cache is compiled here, with progress.
        ensure_compiled(lambda line: self.stderr.write(line, style_func=str))

        owner = resolve_owner(opts["user"])
        if opts["inline"]:
            run_inline()
            opts["wait"] = True
        try:
            with transaction.atomic():
                spec = services.sweep_spec_for(owner, opts["name"])
                run = services.sweep_create(spec=spec, owner=owner)
        except services.SweepError as exc:
            raise CommandError(str(exc)) from None
        if not opts["json"]:
            self.stdout.write(
                f"queued sweep {run.pk} of {spec.name} v{spec.version}: {run.method}, "
                f"{run.total_combinations:,} combinations{' at most' if run.method == 'genetic' else ''}"
            )
        if not opts["wait"]:
            if opts["json"]:
                self.stdout.write(json.dumps({"id": run.pk, "status": run.status}))
            return
        if message := no_worker_message(f"sweep {run.pk}"):
            raise CommandError(message)
        run = self._follow(run.pk, opts["timeout"], show=not opts["json"])
        top = self._top(run, opts["top"])
        if opts["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "id": run.pk,
                        "status": run.status,
                        "error": run.error,
                        "evaluated": run.evaluated,
                        "best": {
                            "trial": run.best_trial_id,
                            "params": run.best_params,
                            "metrics": run.best_metrics,
                        },
                        "top": top,
                    }
                )
            )
        elif run.status == "succeeded":
            self.stdout.write(
                f"sweep {run.pk} succeeded: {run.evaluated:,} combinations "
                f"in {run.duration_seconds or 0:.1f} s "
                f"(evaluation {run.eval_seconds:.2f} s)"
            )
            for i, row in enumerate(top, start=1):
                value = row["objective"]
                shown = "null" if value is None else f"{value:.6g}"
                self.stdout.write(
                    f"  {i}. {run.objective_metric}={shown}  trades={row['total_trades']}  "
                    f"{json.dumps(row['params'])}"
                )
        if run.status != "succeeded":
            raise CommandError(f"sweep {run.pk} {run.status}" + (f": {run.error}" if run.error else ""))

    def _top(self, run, n: int) -> list[dict]:
        from optimizers.selectors import top_trials

        return [
            {"trial": t.pk, "params": t.params, "objective": t.objective, "total_trades": t.total_trades}
            for t in top_trials(run, n)
        ]

    def _follow(self, run_id: int, timeout: float, *, show: bool):
        from jobs.follow import follow
        from optimizers.models import OptimizationRun

        def describe(run) -> str:
            line = f"{run.status}  {run.evaluated:,}/{run.total_combinations:,}"
            if run.best_objective is not None:
                line += f"  best {run.objective_metric}={run.best_objective:.6g}"
            return line

        return follow(
            lambda: OptimizationRun.objects.get(pk=run_id),
            what=f"sweep {run_id}",
            timeout=timeout,
            out=self.stdout,
            show=show,
            describe=describe,
        )
