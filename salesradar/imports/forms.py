"""Forms of the import pages: the upload, and the column and stage mapping."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesradar.imports import schema

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
ALLOWED_SUFFIXES = (".csv", ".xlsx", ".txt", ".tsv")


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File (.csv or .xlsx)"))
    kind = forms.ChoiceField(
        label=_("What the file holds"),
        choices=[(key, kind.label) for key, kind in schema.KINDS.items()],
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if not name.endswith(ALLOWED_SUFFIXES):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than 200 MB; import it with the salesradar import command.")
            )
        return upload


class MappingForm(forms.Form):
    """One choice per file column (which of our columns it fills) and one per stage name."""

    source = forms.SlugField(label=_("Source system"), max_length=64)
    partial = forms.BooleanField(
        label=_("Import the valid rows and report the rest (otherwise all or nothing)"),
        required=False,
    )
    currency = forms.RegexField(
        label=_("Currency of amounts whose row names none"),
        regex=r"^[A-Za-z]{3}$",
        max_length=3,
        required=False,
        help_text=_("Three letters (CNY, USD, EUR); empty: such rows are refused."),
    )
    date_order = forms.ChoiceField(
        label=_("Dates such as 05.03.2024 are"),
        choices=[
            ("", _("decided from the file")),
            ("dmy", _("day first (5 March)")),
            ("mdy", _("month first (May 3)")),
        ],
        required=False,
    )
    create_owners = forms.BooleanField(
        label=_("Create the owners SalesRadar does not know, as inactive users"),
        required=False,
    )
    create_customers = forms.BooleanField(
        label=_("Create the customers the file names and SalesRadar lacks"), required=False
    )

    def __init__(
        self,
        *args: Any,
        kind: schema.Kind,
        headers: list[str],
        stage_names: list[str],
        stage_choices: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.headers = headers
        self.stage_names = stage_names
        column_choices = [("", _("(ignore)"))] + [
            (column.key, f"{column.label}{' *' if column.required else ''}")
            for column in kind.columns
        ]
        for index, header in enumerate(headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header, choices=column_choices, required=False
            )
        for index, name in enumerate(stage_names):
            self.fields[f"stage_{index}"] = forms.ChoiceField(
                label=name, choices=[("", _("(maps to nothing)")), *stage_choices], required=False
            )

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"column_{index}"] for index in range(len(self.headers))]

    def stage_fields(self) -> list[forms.BoundField]:
        return [self[f"stage_{index}"] for index in range(len(self.stage_names))]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        used: dict[str, str] = {}
        for index, header in enumerate(self.headers):
            key = cleaned.get(f"column_{index}")
            if key and key in used:
                self.add_error(
                    f"column_{index}",
                    _("{first} already fills this column.").format(first=used[key]),
                )
            elif key:
                used[key] = header
        return cleaned

    def mapping(self) -> dict[str, str]:
        return {
            header: self.cleaned_data[f"column_{index}"]
            for index, header in enumerate(self.headers)
            if self.cleaned_data.get(f"column_{index}")
        }

    def run_options(self) -> dict[str, Any]:
        return {
            "currency": (self.cleaned_data.get("currency") or "").upper(),
            "date_order": self.cleaned_data.get("date_order") or "",
            "create_owners": bool(self.cleaned_data.get("create_owners")),
            "create_customers": bool(self.cleaned_data.get("create_customers")),
        }

    def stage_map(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[f"stage_{index}"]
            for index, name in enumerate(self.stage_names)
            if self.cleaned_data.get(f"stage_{index}")
        }
