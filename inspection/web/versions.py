"""Model version page (curves, threshold choice, history, activation) and the comparison of two versions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from inspection.errors import ServiceError
from inspection.models import ModelVersion
from inspection.selectors.model_versions import (
    activation_list,
    evaluation_score_list,
    model_version_get,
    model_version_list,
    model_version_suggestions,
    threshold_current,
    threshold_setting_get,
    threshold_setting_list,
)
from inspection.selectors.pixel_evaluation import pixel_evaluation_active_job, pixel_evaluation_summary
from inspection.selectors.products import product_get
from inspection.selectors.version_comparison import model_version_comparison
from inspection.services.model_exports import model_export_start, model_export_state
from inspection.services.pixel_evaluation import pixel_evaluation_start
from inspection.services.thresholds import (
    activation_proposal,
    activation_refusal_check,
    model_version_activate,
    threshold_rollback,
    threshold_set,
)
from inspection.web.common import describe_setting, form_error_words, product_page_context
from inspection.web.forms import ActivationForm, RollbackForm, ThresholdForm
from inspection.web.partials import model_export_response


def _image_url(image) -> str | None:
    if image is None:
        return None
    stored = image.aligned_file or image.file
    return stored.url if stored else None


def _image_name(image, checksum: str) -> str:
    return image.original_name if image else f"deleted image {checksum[:10]}…"


def _evaluation_rows(version: ModelVersion) -> list[dict]:
    return [
        {
            "score": row.score,
            "label": row.label,
            "defect_type": row.defect_type,
            "checksum": row.checksum,
            "image": row.image_id,
            "name": _image_name(row.image, row.checksum),
            "url": _image_url(row.image),
        }
        for row in evaluation_score_list(version=version)
    ]


def _page_points(metrics: dict, suggestions: dict) -> dict:
    """The suggestion buttons' thresholds: placed by today's rule from the evaluation scores."""
    points = dict(metrics.get("operating_points") or {})
    for key, name in (("max_f1", "max-f1"), ("normal_quantile", "normal-quantile")):
        if name in suggestions:
            points[key] = {"threshold": suggestions[name]["threshold"]}
    return points


def _setting_dict(setting) -> dict | None:
    if setting is None:
        return None
    return {"threshold": setting.threshold, "band_lower": setting.band_lower, "band_upper": setting.band_upper}


def _initial_threshold(version: ModelVersion, current) -> dict:
    if current is not None:
        if current.threshold is not None:
            return {"mode": "single", "threshold": current.threshold}
        return {"mode": "band", "band_lower": current.band_lower, "band_upper": current.band_upper}
    suggested = (version.metrics or {}).get("suggested") or {}
    return {"mode": "single", "threshold": suggested.get("threshold")}


def _percent(value) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _rate_text(rate, interval) -> str:
    if rate is None:
        return "–"
    if not interval or interval[0] is None:
        return _percent(rate)
    return f"{_percent(rate)} ({interval[0] * 100:.1f}–{interval[1] * 100:.1f} %)"


def _margin_text(margin: dict) -> str:
    def distance(value):
        return "–" if value is None else f"{value:.4g}"

    text = f"{distance(margin.get('to_defective'))} / {distance(margin.get('to_normal'))}"
    if margin.get("relative") is not None:
        text += f" ({margin['relative']:.2f} normal spreads)"
    return text


def _suggestion_rows(suggestions: dict) -> list[dict]:
    """The suggested operating points with their rates, intervals and margin as the page shows them."""
    return [
        {
            **point,
            "recall_text": _rate_text(point.get("recall"), (point.get("intervals") or {}).get("recall")),
            "false_call_text": _rate_text(
                point.get("false_call_rate"), (point.get("intervals") or {}).get("false_call_rate")
            ),
            "margin_text": _margin_text(point.get("margin") or {}),
        }
        for point in suggestions.values()
    ]


def _activation_choices(current, suggestions: dict) -> list[tuple[str, str]]:
    choices = []
    if current is not None:
        choices.append(("saved", f"The saved operating point: {describe_setting(current)}"))
    for name, point in suggestions.items():
        where = (
            f"reject from {point['threshold']:.4g}"
            if point.get("threshold") is not None
            else f"review from {point['band_lower']:.4g}, reject from {point['band_upper']:.4g}"
        )
        choices.append((name, f"{name}: {where} ({point['rule']})"))
    return choices


def _version_context(request, product, version, *, threshold_form=None, activation_form=None, proposal=None) -> dict:
    current = threshold_current(product=product, version=version)
    in_force = threshold_current(product=product) if product.active_version_id else None
    rows = _evaluation_rows(version)
    # The suggestions come from the same evaluation scores the page lists: read them once.
    suggestions = model_version_suggestions(version=version, rows=[(row["label"], row["score"]) for row in rows])
    history = list(threshold_setting_list(product=product, version=version)[:50])
    for setting in history:
        setting.description = describe_setting(setting)
    activations = list(activation_list(product=product, version=version)[:10])
    metrics = version.metrics or {}
    points = _page_points(metrics, suggestions)
    return {
        **product_page_context(product, "versions"),
        "version": version,
        "is_active": product.active_version_id == version.pk,
        "current": current,
        "current_description": describe_setting(current),
        "history": history,
        "activations": activations,
        "latest_activation": activations[0] if activations else None,
        "rows": rows,
        "metrics": metrics,
        "points": points,
        "suggestions": _suggestion_rows(suggestions),
        "suggestion_warnings": next(iter(suggestions.values()), {}).get("warnings", []),
        "page_data": {
            "scores": [[row["score"], 1 if row["label"] == "defective" else 0] for row in rows],
            "curves": version.curves or {},
            "points": points,
            "current": _setting_dict(current),
            "suggested": metrics.get("suggested"),
        },
        "threshold_form": threshold_form or ThresholdForm(initial=_initial_threshold(version, current)),
        "activation_form": activation_form
        or ActivationForm(
            auto_id="activate_%s",
            choices=_activation_choices(current, suggestions),
            initial={"operating_point": "saved" if current is not None else next(iter(suggestions), "threshold")},
        ),
        "proposal": proposal,
        "in_force": in_force,
        "in_force_description": describe_setting(in_force),
        "others": list(
            model_version_list(product=product, status=ModelVersion.Status.TRAINED, other_than=version)[:50]
        ),
        "pixel": pixel_evaluation_summary(version=version),
        "pixel_job": pixel_evaluation_active_job(version=version),
        "export": model_export_state(version=version),
    }


@login_required
@require_GET
def version_page(request, product_id: int, version_id: int):
    product = product_get(product_id=product_id)
    version = model_version_get(product=product, version_id=version_id)
    return render(request, "version.html", _version_context(request, product, version))


@login_required
@require_POST
def version_threshold_save(request, product_id: int, version_id: int):
    product = product_get(product_id=product_id)
    version = model_version_get(product=product, version_id=version_id)
    form = ThresholdForm(request.POST)
    if form.is_valid():
        try:
            setting = threshold_set(
                product=product,
                version=version,
                reason=form.cleaned_data["reason"],
                set_by=request.user,
                **form.values(),
            )
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, f"Operating point of version {version.number} saved: {describe_setting(setting)}."
            )
            return redirect(reverse("version-page", args=[product.pk, version.pk]) + "#operating-point")
    context = _version_context(request, product, version, threshold_form=form)
    return render(request, "version.html", context, status=400)


@login_required
@require_POST
def version_threshold_rollback(request, product_id: int, version_id: int, setting_id: int):
    product = product_get(product_id=product_id)
    version = model_version_get(product=product, version_id=version_id)
    setting = threshold_setting_get(product=product, setting_id=setting_id)
    form = RollbackForm(request.POST)
    if not form.is_valid():
        for error in form_error_words(form):
            messages.error(request, error)
    else:
        try:
            restored = threshold_rollback(
                product=product, setting=setting, reason=form.cleaned_data["reason"], set_by=request.user
            )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Operating point restored: {describe_setting(restored)}.")
    return redirect(reverse("version-page", args=[product.pk, version.pk]) + "#history")


@login_required
@require_POST
def version_activate(request, product_id: int, version_id: int):
    """First post: show what the chosen operating point does; second post (confirmed): activate."""
    product = product_get(product_id=product_id)
    version = model_version_get(product=product, version_id=version_id)
    choices = _activation_choices(
        threshold_current(product=product, version=version), model_version_suggestions(version=version)
    )
    form = ActivationForm(request.POST, auto_id="activate_%s", choices=choices)
    proposal = None
    if form.is_valid():
        try:
            if not form.cleaned_data["confirmed"]:
                activation_refusal_check(version=version, force=form.cleaned_data["force"])
                proposal = activation_proposal(
                    product=product, version=version, operating_point=form.operating_point_value()
                )
                proposal["effect_rows"] = _suggestion_rows({"proposal": proposal["effect"]})[0]
                proposal["choice_label"] = dict(choices).get(form.cleaned_data["operating_point"], "")
            else:
                activation = model_version_activate(
                    version=version,
                    activated_by=request.user,
                    reason=form.cleaned_data["reason"],
                    force=form.cleaned_data["force"],
                    operating_point=form.operating_point_value(),
                )
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            if proposal is None:
                gate = activation.gate or {}
                verdict = {
                    True: "the promotion gate passed",
                    False: "the promotion gate found missed defects",
                    None: "nothing to compare with",
                }
                messages.success(
                    request,
                    f"Version {version.number} is now active ({verdict.get(gate.get('passed'), 'see the report')}).",
                )
                return redirect(reverse("version-page", args=[product.pk, version.pk]) + "#activation")
    product = product_get(product_id=product.pk)
    context = _version_context(request, product, version, activation_form=form, proposal=proposal)
    return render(request, "version.html", context, status=200 if proposal else 400)


@login_required
@require_POST
def version_pixel_evaluation(request, product_id: int, version_id: int):
    product = product_get(product_id=product_id)
    version = model_version_get(product=product, version_id=version_id)
    try:
        pixel_evaluation_start(version=version, started_by=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Pixel evaluation of version {version.number} queued.")
    return redirect(reverse("version-page", args=[product.pk, version.pk]) + "#pixel-evaluation")


@login_required
@require_POST
def version_export(request, product_id: int, version_id: int):
    """Export: queue building the archive (htmx gets the export part back, a plain form the page)."""
    product = product_get(product_id=product_id)
    version = model_version_get(product=product, version_id=version_id)
    export_error = ""
    try:
        model_export_start(version=version, started_by=request.user)
    except ServiceError as error:
        export_error = error.message
    if request.headers.get("HX-Request") == "true":
        version = model_version_get(product=product, version_id=version_id)
        return model_export_response(request, product, version, export_error=export_error)
    if export_error:
        messages.error(request, export_error)
    return redirect(reverse("version-page", args=[product.pk, version.pk]) + "#model-export")


# --- Comparison ------------------------------------------------------------------


@login_required
@require_GET
def version_compare(request, product_id: int):
    product = product_get(product_id=product_id)
    trained = list(model_version_list(product=product, status=ModelVersion.Status.TRAINED)[:100])
    chosen = []
    problems = []
    for key in ("a", "b"):
        value = request.GET.get(key, "")
        if value and not (value.isascii() and value.isdigit()):
            problems.append(f"Version {key.upper()}: {value!r} is not a version id.")
            value = ""
        chosen.append(int(value) if value else None)
    by_id = {version.pk: version for version in trained}
    for index, version_id in enumerate(chosen):
        if version_id is not None and version_id not in by_id:
            problems.append(f"Version id {version_id} is not a trained version of {product.name}.")
            chosen[index] = None
    if chosen[0] is None and trained:
        chosen[0] = product.active_version_id if product.active_version_id in by_id else trained[0].pk
    if chosen[1] is None:
        chosen[1] = next((version.pk for version in trained if version.pk != chosen[0]), None)
    context = {
        **product_page_context(product, "versions"),
        "trained": trained,
        "problems": problems,
        "a": by_id.get(chosen[0]),
        "b": by_id.get(chosen[1]),
    }
    a, b = context["a"], context["b"]
    if a is not None and b is not None and a.pk != b.pk:
        comparison = model_version_comparison(product=product, a=a, b=b)
        shared = [
            {
                **row,
                "image": row["image"].pk if row["image"] else None,
                "score": row["score_a"],
                "name": _image_name(row["image"], row["checksum"]),
                "url": _image_url(row["image"]),
            }
            for row in comparison["shared"]
        ]
        context.update(
            shared=shared,
            setting_a=describe_setting(comparison["setting_a"]),
            setting_b=describe_setting(comparison["setting_b"]),
            tally_a=comparison["tally_a"],
            tally_b=comparison["tally_b"],
            differing=comparison["differing"],
            page_data={
                "a": {
                    "label": f"Version {a.number}",
                    "scores": [[row["score_a"], int(row["label"] == "defective")] for row in shared],
                },
                "b": {
                    "label": f"Version {b.number}",
                    "scores": [[row["score_b"], int(row["label"] == "defective")] for row in shared],
                },
            },
        )
    return render(request, "version_compare.html", context)
