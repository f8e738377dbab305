"""The web forms (Flask-WTF, CSRF on every one) and how a hypothesis form maps to the API's field names."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired
from wtforms.widgets import CheckboxInput, ListWidget

from service.domain.taxonomy import Taxonomy
from service.hypotheses.schema import CONFIDENCES, STATUSES, Problem


class SignInForm(FlaskForm):
    token = PasswordField("API token", validators=[DataRequired("paste the token you were given")])


class SignOutForm(FlaskForm):
    """Only the CSRF token: signing out is a POST so another site cannot sign a person out."""


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class HypothesisForm(FlaskForm):
    statement = TextAreaField(
        "Statement", description="We believe <change> for <stakeholder groups> will result in <value outcome>"
    )
    dimensions = MultiCheckboxField("Value dimensions")
    stakeholders = MultiCheckboxField("Stakeholder groups")
    indicators = TextAreaField("Leading indicators", description="one per line")
    measure_name = StringField("Measure")
    baseline_value = StringField("Baseline value")
    baseline_date = StringField("Baseline date", description="YYYY-MM-DD")
    baseline_source = StringField("Baseline source")
    target_value = StringField("Target value")
    target_date = StringField("Target date", description="YYYY-MM-DD")
    source_url = StringField("Read readings from", description="an http(s) address of JSON or CSV, read daily")
    source_path = StringField("JSON path", description="e.g. data.rate or items.-1.value")
    source_column = StringField("CSV column", description="the last row's value is taken")
    owner = StringField("Owner")
    risks = TextAreaField(
        "Dis-benefits and co-destruction risks",
        description="one per line: dimension | what might get worse | watch indicator",
    )
    trade_offs = MultiCheckboxField("Acknowledged trade-offs (dimensions that may lose)")
    status = SelectField("Status", choices=[SelectChoice(s) for s in STATUSES], default="proposed")
    confidence = SelectField(
        "Confidence", choices=[SelectChoice("", "not rated"), *map(SelectChoice, CONFIDENCES)], default=""
    )
    reason = StringField(
        "Reason for the change",
        description="required to change the status, or to start a new hypothesis other than proposed",
    )

    def offer(self, taxonomy: Taxonomy) -> HypothesisForm:
        dimensions = [SelectChoice(d.slug, d.name) for d in taxonomy.dimensions.values()]
        self.dimensions.choices = dimensions
        self.trade_offs.choices = dimensions
        self.stakeholders.choices = [SelectChoice(slug, name) for slug, name in taxonomy.groups.items()]
        return self

    def fill(self, values: dict[str, Any]) -> None:
        """Show a stored hypothesis (API field names) in the form."""
        self.statement.data = values["statement"]
        self.dimensions.data = values["dimensions"]
        self.stakeholders.data = values["stakeholders"]
        self.indicators.data = "\n".join(values["indicators"])
        measure = values.get("measure") or {}
        baseline, target = measure.get("baseline") or {}, measure.get("target") or {}
        self.measure_name.data = measure.get("name", "")
        self.baseline_value.data = _text(baseline.get("value"))
        self.baseline_date.data = baseline.get("date", "")
        self.baseline_source.data = baseline.get("source", "")
        self.target_value.data = _text(target.get("value"))
        self.target_date.data = target.get("date", "")
        self.source_url.data = measure.get("source_url", "")
        self.source_path.data = measure.get("path", "")
        self.source_column.data = measure.get("column", "")
        self.owner.data = values.get("owner") or ""
        self.risks.data = "\n".join(
            " | ".join(part for part in (r["dimension"], r["description"], r.get("watch") or "") if part)
            for r in values["risks"]
        )
        self.trade_offs.data = values["trade_offs"]
        self.status.data = values["status"]
        self.confidence.data = values.get("confidence") or ""

    def values(self) -> tuple[dict[str, Any], list[Problem]]:
        """The form as the API's fields, and the problems only the form can see (a malformed risk line)."""
        problems: list[Problem] = []
        risks = []
        for number, line in enumerate(_lines(self.risks.data), start=1):
            parts = [part.strip() for part in line.split("|")]
            if len(parts) < 2 or len(parts) > 3 or not all(parts[:2]):
                problems.append(
                    Problem(f"risks.{number - 1}", f"line {number}: write `dimension | what might get worse | watch`")
                )
                continue
            risks.append(
                {
                    "dimension": parts[0],
                    "description": parts[1],
                    "watch": parts[2] if len(parts) > 2 and parts[2] else None,
                }
            )
        values: dict[str, Any] = {
            "statement": (self.statement.data or "").strip(),
            "dimensions": self.dimensions.data or [],
            "stakeholders": self.stakeholders.data or [],
            "indicators": _lines(self.indicators.data),
            "measure": self._measure(),
            "owner": (self.owner.data or "").strip() or None,
            "risks": risks,
            "trade_offs": self.trade_offs.data or [],
            "status": self.status.data,
            "confidence": self.confidence.data or None,
        }
        return values, problems

    def _measure(self) -> dict[str, Any] | None:
        def given(*fields: StringField) -> bool:
            return any((f.data or "").strip() for f in fields)

        if not given(
            self.measure_name,
            self.baseline_value,
            self.baseline_date,
            self.target_value,
            self.target_date,
            self.source_url,
        ):
            return None
        measure: dict[str, Any] = {"name": (self.measure_name.data or "").strip()}
        # A measure's source (read daily) is kept through the form as it is through the API and the block.
        for key, form_field in (
            ("source_url", self.source_url),
            ("path", self.source_path),
            ("column", self.source_column),
        ):
            if given(form_field):
                measure[key] = (form_field.data or "").strip()
        if given(self.baseline_value, self.baseline_date, self.baseline_source):
            measure["baseline"] = {
                "value": (self.baseline_value.data or "").strip() or None,
                "date": (self.baseline_date.data or "").strip(),
                "source": (self.baseline_source.data or "").strip() or None,
            }
        if given(self.target_value, self.target_date):
            measure["target"] = {
                "value": (self.target_value.data or "").strip() or None,
                "date": (self.target_date.data or "").strip(),
            }
        return measure

    def show(self, problems: list[Problem]) -> list[str]:
        """Put each problem next to its field; the ones with no field come back for the top of the form."""
        unplaced = []
        for problem in problems:
            field = self._fields.get(_FIELD_OF.get(problem.path) or problem.path.split(".", 1)[0])
            if field is None:
                unplaced.append(f"{problem.path}: {problem.message}")
            else:
                field.errors = [*list(field.errors or []), problem.message]
        return unplaced


_FIELD_OF = {
    "measure": "measure_name",
    "measure.name": "measure_name",
    "measure.baseline": "baseline_value",
    "measure.baseline.value": "baseline_value",
    "measure.baseline.date": "baseline_date",
    "measure.baseline.source": "baseline_source",
    "measure.target": "target_value",
    "measure.target.value": "target_value",
    "measure.target.date": "target_date",
    "measure.source_url": "source_url",
    "measure.path": "source_path",
    "measure.column": "source_column",
}


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _text(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
