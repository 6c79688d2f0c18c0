"""``salesradar import FILE --kind KIND``: import a CSV or xlsx file, all or nothing."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from salesradar.core.terminal import write_table
from salesradar.imports import schema, services
from salesradar.imports.presets import (
    PRESETS,
    Preset,
    candidates,
    mapping_from_preset,
    rank_presets,
    suggest_columns,
)


def parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    """Read ``NAME=VALUE`` arguments; the name may itself contain spaces."""
    result: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.rpartition("=")
        if not sep or not name.strip():
            raise CommandError(
                _("{what} must look like NAME=VALUE, got {pair!r}.").format(what=what, pair=pair)
            )
        result[name.strip()] = value.strip()
    return result


class Command(BaseCommand):
    help = (
        "Import a .csv or .xlsx file of one kind of record. Nothing is written unless every "
        "row is valid (or --partial); re-importing the same file updates, never duplicates."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="the .csv or .xlsx file")
        parser.add_argument("--kind", choices=list(schema.KINDS))
        parser.add_argument(
            "--preset",
            help="column preset (default: chosen from the headers); see --list-presets",
        )
        parser.add_argument("--list-presets", action="store_true", help="list presets and exit")
        parser.add_argument(
            "--undo",
            type=int,
            metavar="RUN",
            help="undo import run RUN (within 30 days): remove what it created, restore what "
            "it updated",
        )
        parser.add_argument(
            "--source",
            help="system the external ids come from (default: the preset's, or 'file')",
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="HEADER=COLUMN",
            help="map a file header to a column (COLUMN empty: ignore the header); repeatable",
        )
        parser.add_argument(
            "--stage-map",
            action="append",
            default=[],
            metavar="THEIR_STAGE=STAGE_KEY",
            help="map a stage name in the file to a stage key of the process; repeatable",
        )
        parser.add_argument(
            "--accept-suggested-stages",
            action="store_true",
            help="confirm the stage mapping suggested for the vendor's standard stage names",
        )
        parser.add_argument("--process", help="sales process key (default: the default process)")
        parser.add_argument(
            "--partial",
            action="store_true",
            help="import the valid rows and report the rest (default: all or nothing)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check everything, write nothing"
        )
        parser.add_argument("--owner", help="user name that owns rows whose owner cell is empty")
        parser.add_argument(
            "--owner-map",
            metavar="FILE",
            help="CSV of two columns, their owner (user id, e-mail or name) and our user name; "
            "remembered for the source",
        )
        parser.add_argument(
            "--create-owners",
            action="store_true",
            help="create the owners SalesRadar does not know as inactive users",
        )
        parser.add_argument(
            "--currency",
            default="",
            metavar="CODE",
            help="currency of amounts whose row names none (CNY, USD ...); without it such "
            "rows are refused",
        )
        order = parser.add_mutually_exclusive_group()
        order.add_argument(
            "--dayfirst",
            dest="date_order",
            action="store_const",
            const="dmy",
            help="05.03.2024 is 5 March (default: decided from the file's unambiguous dates)",
        )
        order.add_argument(
            "--monthfirst",
            dest="date_order",
            action="store_const",
            const="mdy",
            help="05.03.2024 is May 3",
        )
        parser.add_argument(
            "--mode",
            choices=["both", "create", "update"],
            default="both",
            help="create new records, update existing ones, or both (default)",
        )
        parser.add_argument(
            "--match",
            choices=["external_id", "code", "name"],
            default="",
            help="what identifies an existing record: the external id, the record number, or "
            "the name (customers; leads: name and phone; deals: name and customer). Default: "
            "the id, then the number, then the name when the file has neither",
        )
        parser.add_argument(
            "--create-customers",
            action="store_true",
            help="create the customers a row names and SalesRadar lacks (duplicate guard applied)",
        )
        parser.add_argument("--as", dest="actor", help="user name recorded as doing the import")
        parser.add_argument(
            "--errors",
            help="where to write the error report, .csv or .xlsx "
            "(default: FILE-errors.csv in the current folder)",
        )
        parser.add_argument("--time-zone", default="", help="zone of times without one")
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list_presets"]:
            kind = schema.kind_named(options["kind"]) if options["kind"] else None
            write_table(
                self.stdout,
                ["preset", "kind", "source", "headers"],
                [
                    [
                        preset.key,
                        preset.kind,
                        preset.source,
                        ", ".join(list(preset.headers)[:6]) + " ...",
                    ]
                    for preset in candidates(kind)
                ],
            )
            return
        if options["undo"]:
            self.undo(options["undo"])
            return
        if not options["file"] or not options["kind"]:
            raise CommandError(_("Give the file and --kind (or --list-presets)."))
        path = Path(options["file"])
        try:
            import_options = self.build_options(path, options)
            report = self.run(path, import_options, options)
        except services.ImportRefused as error:
            raise CommandError(str(error)) from error
        self.print_report(report, path, options)
        if not report.committed and not (report.dry_run and not report.error_count):
            sys.exit(1)

    def build_options(self, path: Path, options: dict[str, Any]) -> services.ImportOptions:
        kind = schema.kind_named(options["kind"])
        analysis = services.analyse_file(path, kind.key)
        preset: Preset | None = analysis.preset
        if options["preset"]:
            preset = PRESETS.get(options["preset"]) or next(
                (each for each in candidates(kind) if each.key == options["preset"]), None
            )
            if preset is None:
                raise CommandError(
                    _("Unknown preset {key}; see --list-presets.").format(key=options["preset"])
                )
        mapping = mapping_from_preset(analysis.headers, preset)
        source = options["source"] or (preset.source if preset else "file")
        saved = services.saved_mapping(kind.key, source, analysis.headers)
        saved_stages: dict[str, str] = {}
        if saved and not options["preset"]:
            mapping, saved_stages = saved
            self.stderr.write(
                _("Using the mapping saved by the last import from {source}.").format(source=source)
            )
        for header, key in parse_pairs(options["map"], "--map").items():
            if header not in analysis.headers:
                raise CommandError(
                    _("The file has no column {header}; its columns: {headers}.").format(
                        header=header, headers=", ".join(analysis.headers)
                    )
                )
            mapping = {name: value for name, value in mapping.items() if value != key or not key}
            mapping[header] = key
        mapping = {header: key for header, key in mapping.items() if key}
        if options["verbosity"] >= 1 and options["format"] == "text":
            self.explain(analysis.headers, kind, preset, chosen=bool(options["preset"]))
            for header, key in mapping.items():
                self.stderr.write(f"  {header} -> {key}")
            for header, (key, score) in suggest_columns(analysis.headers, kind, mapping).items():
                self.stderr.write(
                    _("  {header} is not mapped; it looks like {key} ({score}): {argument}").format(
                        header=header,
                        key=key,
                        score=score,
                        argument="--map " + shlex.quote(f"{header}={key}"),
                    )
                )
        for note in analysis.notes:
            self.stderr.write(note)
        actor_id = self.user_id(options["actor"]) if options["actor"] else None
        import_options = services.ImportOptions(
            kind=kind.key,
            mapping=mapping,
            source=options["source"] or (preset.source if preset else "file"),
            process_key=options["process"],
            partial=options["partial"],
            dry_run=options["dry_run"],
            default_owner=options["owner"],
            actor_id=actor_id,
            time_zone=options["time_zone"],
            batch_size=max(1, options["batch_size"]),
            preset=preset.key if preset else "",
            owner_map=services.read_owner_map(options["owner_map"]) if options["owner_map"] else {},
            create_owners=options["create_owners"],
            create_customers=options["create_customers"],
            currency=options["currency"].upper(),
            date_order=options["date_order"] or "",
            mode=options["mode"],
            match=options["match"],
        )
        options["stage_map"] = [f"{name}={key}" for name, key in saved_stages.items()] + list(
            options["stage_map"]
        )
        import_options.stage_map = self.confirm_stages(path, import_options, preset, options)
        return import_options

    def undo(self, run_id: int) -> None:
        from salesradar.imports.models import ImportRun
        from salesradar.imports.undo import UndoRefused, undo_import

        run = ImportRun.objects.filter(pk=run_id).first()
        if run is None:
            raise CommandError(_("No import run {run}.").format(run=run_id))
        try:
            report = undo_import(run)
        except UndoRefused as error:
            raise CommandError(str(error)) from error
        deleted = ", ".join(f"{label} {count}" for label, count in report.deleted.items())
        self.stdout.write(
            _("Undone: removed {deleted}; restored {restored} updated records.").format(
                deleted=deleted or "0", restored=report.restored
            )
        )

    def explain(
        self, headers: list[str], kind: schema.Kind, preset: Preset | None, *, chosen: bool
    ) -> None:
        """Say which preset was used and why: its header overlap against the runners-up."""
        ranked = rank_presets(headers, kind)
        if preset is None:
            self.stderr.write(_("No preset matches at least two headers; map with --map."))
        elif chosen:
            self.stderr.write(
                _("Preset: {preset} (chosen with --preset)").format(preset=preset.label)
            )
        else:
            score = next((each for each in ranked if each.preset.key == preset.key), None)
            self.stderr.write(
                _("Preset: {preset}, {matched} of the file's {total} headers match").format(
                    preset=preset.label, matched=score.matched if score else 0, total=len(headers)
                )
            )
        others = [each for each in ranked if preset is None or each.preset.key != preset.key]
        if others:
            self.stderr.write(
                _("  next best: {others}").format(
                    others="; ".join(f"{each.preset.key} ({each.matched})" for each in others[:3])
                )
            )
        self.stderr.write(_("Mapping used (file header -> column):"))

    def user_id(self, name: str) -> int:
        from salesradar.accounts.models import User

        user = User.objects.filter(username=name).first()
        if user is None:
            raise CommandError(_("No user {name}.").format(name=name))
        return user.pk

    def confirm_stages(
        self,
        path: Path,
        import_options: services.ImportOptions,
        preset: Preset | None,
        options: dict[str, Any],
    ) -> dict[str, str]:
        chosen = parse_pairs(options["stage_map"], "--stage-map")
        values = services.scan_stage_values(path, import_options.kind, import_options.mapping)
        if not values:
            return chosen
        process = services.resolve_process(import_options.process_key)
        plan = services.plan_stage_mapping(values, process=process, chosen=chosen, preset=preset)
        if options["accept_suggested_stages"]:
            chosen.update(plan.suggested)
            plan.unmapped = [name for name in plan.unmapped if name not in plan.suggested]
        if plan.unmapped and sys.stdin.isatty() and options["format"] == "text":
            keys = [stage.key for stage in process.stages.all()]
            for name in plan.unmapped:
                suggestion = plan.suggested.get(name, "")
                answer = (
                    input(
                        _("Stage {name!r} -> which stage ({keys})? [{suggestion}] ").format(
                            name=name, keys="/".join(keys), suggestion=suggestion
                        )
                    ).strip()
                    or suggestion
                )
                if answer not in keys:
                    raise CommandError(_("{answer!r} is not a stage key.").format(answer=answer))
                chosen[name] = answer
            plan.unmapped = []
        if plan.unmapped:
            lines = [
                _(
                    "These stage names in the file map to no stage of the process {process}; "
                    "nothing was imported. Map each with --stage-map:"
                ).format(process=process)
            ]
            for name in plan.unmapped:
                suggestion = plan.suggested.get(name)
                lines.append(
                    "  --stage-map "
                    + shlex.quote(f"{name}={suggestion or '?'}")
                    + ("   (" + _("suggested") + ")" if suggestion else "")
                )
            if plan.suggested:
                lines.append(_("or confirm the suggestions with --accept-suggested-stages."))
            lines.append(
                _("Stage keys: {keys}").format(
                    keys=", ".join(stage.key for stage in process.stages.all())
                )
            )
            raise CommandError("\n".join(lines))
        return chosen | plan.confirmed

    def run(
        self, path: Path, import_options: services.ImportOptions, options: dict[str, Any]
    ) -> services.ImportReport:
        if options["no_progress"] or options["verbosity"] == 0:
            return services.run_import(path, import_options)
        from tqdm import tqdm

        size = path.stat().st_size
        is_csv = path.suffix.lower() != ".xlsx"
        with tqdm(
            total=size if is_csv else None,
            unit="B" if is_csv else " rows",
            unit_scale=True,
            desc=_("importing"),
            file=sys.stderr,
            mininterval=0.5,
        ) as bar:
            state = {"rows": 0}

            def progress(rows: int, position: int | None) -> None:
                if position is not None:
                    bar.update(position - bar.n)
                else:
                    bar.update(rows - state["rows"])
                state["rows"] = rows
                bar.set_postfix(rows=rows, refresh=False)

            return services.run_import(path, import_options, progress=progress)

    def print_report(
        self, report: services.ImportReport, path: Path, options: dict[str, Any]
    ) -> None:
        error_path: Path | None = None
        if report.error_file is not None:
            target = Path(options["errors"] or f"{path.stem}-errors.csv")
            rejected = target.with_name(f"{path.stem}-rows-to-fix{target.suffix}")
            services.write_rejected_rows(path, report.error_file, rejected, report.kind)
            error_path = services.write_error_report(report.error_file, target)
            report.error_file.unlink(missing_ok=True)
            if options["format"] == "text":
                self.stdout.write(
                    _("The refused rows as they were, with an error column: {path}").format(
                        path=rejected
                    )
                )
        summary = {
            "run": report.run_id,
            "kind": report.kind,
            "source": report.source,
            "dry_run": report.dry_run,
            "committed": report.committed,
            "rows": report.rows_read,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "refused_rows": report.refused_rows,
            "errors": report.error_count,
            "error_report": str(error_path) if error_path else None,
            "seconds": round(report.seconds, 2),
            "rows_per_second": round(report.rows_per_second),
        }
        if options["format"] == "json":
            self.stdout.write(json.dumps(summary, ensure_ascii=False, indent=1))
            return
        if report.errors:
            write_table(
                self.stdout,
                [_("row"), _("column"), _("value"), _("reason")],
                [error.as_list() for error in report.errors[:20]],
            )
            if report.error_count > 20:
                self.stdout.write(
                    _("... {count} errors in all, see {path}").format(
                        count=report.error_count, path=error_path
                    )
                )
        if report.dry_run:
            headline = _("Dry run: nothing written.")
        elif report.committed:
            headline = _(
                "Imported (run {run}; undo within 30 days: salesradar import --undo {run})."
            ).format(run=report.run_id)
        else:
            headline = _(
                "Refused: {rows} rows have errors, nothing was written "
                "(use --partial to import the valid rows)."
            ).format(rows=report.refused_rows)
        self.stdout.write(headline)
        self.stdout.write(
            _(
                "{rows} rows read: {created} created, {updated} updated, {unchanged} unchanged, "
                "{refused} refused; {seconds:.1f} s ({rate:.0f} rows/s)."
            ).format(
                rows=report.rows_read,
                created=report.created,
                updated=report.updated,
                unchanged=report.unchanged,
                refused=report.refused_rows,
                seconds=report.seconds,
                rate=report.rows_per_second,
            )
        )
        if error_path:
            self.stdout.write(_("Error report: {path}").format(path=error_path))
