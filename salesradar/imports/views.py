"""Import pages (upload, map columns and stages, dry run, import, result) and exports.

The views parse requests and call :mod:`services` and :mod:`exports`; all rules live there.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from functools import wraps
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import get_valid_filename
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from salesradar.accounts.visibility import sees_everything
from salesradar.core import env
from salesradar.core.fields import DEFAULT_CURRENCY
from salesradar.imports import exports, schema, services
from salesradar.imports.forms import MappingForm, UploadForm
from salesradar.imports.models import ImportRun
from salesradar.imports.presets import PRESETS, candidates, suggest_columns

RECENT_RUNS = 20


def can_import(user: Any) -> bool:
    """Importing writes records for everyone, so only those who see everything may do it."""
    return bool(user.is_authenticated and (user.is_staff or sees_everything(user)))


def importer_required(view: Any) -> Any:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_import(request.user):
            raise PermissionDenied(_("Only directors, sales operations and admins may import."))
        return view(request, *args, **kwargs)

    return wrapped


def run_folder(run_key: str) -> Path:
    folder = env.data_dir() / "imports" / run_key
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@importer_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        folder = run_folder(uuid.uuid4().hex)
        stored = folder / get_valid_filename(Path(upload_file.name).name)
        with stored.open("wb") as handle:
            for chunk in upload_file.chunks():
                handle.write(chunk)
        run = ImportRun.objects.create(
            kind=form.cleaned_data["kind"],
            file_name=upload_file.name[:255],
            stored_path=str(stored),
            created_by=request.user,
        )
        return redirect("imports:map", run_id=run.pk)
    runs = ImportRun.objects.select_related("created_by")[:RECENT_RUNS]
    return render(
        request,
        "imports/upload.html",
        {"form": form, "runs": runs, "kinds": schema.KINDS, "language": get_language() or "en"},
    )


def _run_for(request: HttpRequest, run_id: int) -> ImportRun:
    run = get_object_or_404(ImportRun, pk=run_id)
    if not run.stored_path or not Path(run.stored_path).is_file():
        raise Http404(_("The uploaded file of this import is gone; upload it again."))
    return run


@importer_required
@require_http_methods(["GET", "POST"])
def map_columns(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run_for(request, run_id)
    kind = schema.kind_named(run.kind)
    path = Path(run.stored_path)
    try:
        analysis = services.analyse_file(path, kind.key)
    except services.ImportRefused as error:
        messages.error(request, str(error))
        return redirect("imports:upload")
    preset = PRESETS.get(run.preset) or analysis.preset
    mapping = run.mapping or analysis.mapping
    stage_names: list[str] = []
    stage_choices: list[tuple[str, str]] = []
    initial_stages: dict[str, str] = {}
    if services.stage_columns(kind, mapping):
        process = services.resolve_process(None)
        stage_choices = [(stage.key, str(stage)) for stage in process.stages.all()]
        stage_names = services.scan_stage_values(path, kind.key, mapping)
        plan = services.plan_stage_mapping(
            stage_names, process=process, chosen=run.stage_map, preset=preset
        )
        initial_stages = plan.confirmed | plan.suggested
    initial: dict[str, Any] = {
        "source": run.source if run.mapping else (preset.source if preset else "file"),
        "partial": run.partial,
        # a suggestion the user sees and confirms by saving, like the vendor's stage names
        "currency": run.options.get("currency", DEFAULT_CURRENCY),
        "date_order": run.options.get("date_order", ""),
        "create_owners": run.options.get("create_owners", False),
        "create_customers": run.options.get("create_customers", False),
    }
    # fuzzy suggestions for the headers the preset leaves out, pre-selected like the stage
    # suggestions: the person sees them and confirms by saving (only before a first save)
    suggested = {} if run.mapping else suggest_columns(analysis.headers, kind, mapping)
    for index, header in enumerate(analysis.headers):
        initial[f"column_{index}"] = mapping.get(header) or suggested.get(header, ("",))[0]
    for index, name in enumerate(stage_names):
        initial[f"stage_{index}"] = initial_stages.get(name, "")
    form = MappingForm(
        request.POST or None,
        initial=initial,
        kind=kind,
        headers=analysis.headers,
        stage_names=stage_names,
        stage_choices=stage_choices,
    )
    if request.method == "POST" and form.is_valid():
        run.mapping = form.mapping()
        run.stage_map = form.stage_map()
        run.partial = form.cleaned_data["partial"]
        run.source = form.cleaned_data["source"]
        run.preset = preset.key if preset else ""
        run.options = form.run_options()
        run.save(update_fields=["mapping", "stage_map", "partial", "source", "preset", "options"])
        action = request.POST.get("action", "refresh")
        if action in ("dry_run", "import"):
            options = services.ImportOptions(
                kind=kind.key,
                mapping=run.mapping,
                source=run.source,
                stage_map=run.stage_map,
                partial=run.partial,
                dry_run=action == "dry_run",
                actor_id=request.user.pk,
                time_zone=getattr(request.user, "time_zone", ""),
                preset=run.preset,
                currency=run.options["currency"],
                date_order=run.options["date_order"],
                create_owners=run.options["create_owners"],
                create_customers=run.options["create_customers"],
            )
            try:
                services.run_import(path, options, run=run, error_dir=path.parent)
            except services.ImportRefused as error:
                messages.error(request, str(error))
                return redirect("imports:map", run_id=run.pk)
            return redirect("imports:result", run_id=run.pk)
        return redirect("imports:map", run_id=run.pk)
    return render(
        request,
        "imports/map.html",
        {
            "run": run,
            "kind": kind,
            "analysis": analysis,
            "preset": preset,
            "presets": candidates(kind),
            "form": form,
        },
    )


@importer_required
def result(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(ImportRun, pk=run_id)
    return render(
        request,
        "imports/result.html",
        {
            "run": run,
            "kind": schema.KINDS.get(run.kind),
            "errors": run.error_sample,
            "more_errors": run.refused and len(run.error_sample) >= services.ERROR_SAMPLE_SIZE,
            "can_rerun": bool(run.stored_path and Path(run.stored_path).is_file()),
        },
    )


@importer_required
@require_http_methods(["POST"])
def undo(request: HttpRequest, run_id: int) -> HttpResponse:
    from salesradar.imports.undo import UndoRefused, undo_import

    run = get_object_or_404(ImportRun, pk=run_id)  # the uploaded file need not be kept
    try:
        report = undo_import(run)
    except UndoRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Import undone: {deleted} records removed, {restored} restored.").format(
                deleted=sum(report.deleted.values()), restored=report.restored
            ),
        )
    return redirect("imports:result", run_id=run.pk)


@importer_required
def error_report(request: HttpRequest, run_id: int, file_format: str) -> HttpResponse:
    run = get_object_or_404(ImportRun, pk=run_id)
    report = Path(run.error_report) if run.error_report else None
    if report is None or not report.is_file() or file_format not in exports.FORMATS:
        raise Http404(_("This import has no error report."))
    if request.GET.get("rows") and run.stored_path and Path(run.stored_path).is_file():
        target = _temporary_path(f".{file_format}")
        services.write_rejected_rows(Path(run.stored_path), report, target, run.kind)
        return FileResponse(
            _open_and_forget(target),
            as_attachment=True,
            filename=f"{Path(run.file_name).stem}-rows-to-fix.{file_format}",
        )
    name = f"{Path(run.file_name).stem}-errors.{file_format}"
    if file_format == "csv":
        return FileResponse(report.open("rb"), as_attachment=True, filename=name)
    target = _temporary_path(".xlsx")
    services.write_error_report(report, target)
    return FileResponse(_open_and_forget(target), as_attachment=True, filename=name)


@login_required
def template(request: HttpRequest, kind: str, language: str) -> HttpResponse:
    if kind not in schema.KINDS or language not in ("en", "zh-hans"):
        raise Http404(_("No such template."))
    headers = schema.template_headers(schema.KINDS[kind], language)
    response = StreamingHttpResponse(
        exports.csv_chunks(iter([headers])), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="salesradar-{kind}-{language}.csv"'
    return response


@login_required
def export_index(request: HttpRequest) -> HttpResponse:
    return render(request, "imports/export.html", {"kinds": schema.KINDS})


@login_required
def export(request: HttpRequest, kind: str, file_format: str) -> HttpResponse:
    """Download what the signed-in user may see of one kind, as csv (streamed) or xlsx."""
    if kind not in schema.KINDS or file_format not in exports.FORMATS:
        raise Http404(_("No such export."))
    language = get_language() or "zh-hans"
    rows = exports.export_rows(request.user, kind, language=language)
    filename = f"{kind}.{file_format}"
    if file_format == "csv":
        response = StreamingHttpResponse(
            exports.csv_chunks(rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    target = _temporary_path(".xlsx")
    exports.write_export(rows, target, "xlsx")
    return FileResponse(_open_and_forget(target), as_attachment=True, filename=filename)


def _temporary_path(suffix: str) -> Path:
    handle, name = tempfile.mkstemp(suffix=suffix)
    os.close(handle)
    return Path(name)


def _open_and_forget(path: Path) -> Any:
    """Open a temporary file for the response and unlink it at once (it lives while open)."""
    handle = path.open("rb")
    path.unlink()
    return handle
