"""Review queue: flagged parts one at a time, most doubtful first; each verdict relabels the data set."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from inspection.errors import ServiceError
from inspection.models import ReviewItem
from inspection.selectors.images import image_defect_type_names
from inspection.selectors.products import product_get
from inspection.selectors.review_hotkeys import HOTKEYS, defect_type_matching, defect_types_in_hotkey_order
from inspection.selectors.reviews import review_item_get, review_item_held_by, review_item_list, review_queue_counts
from inspection.services.annotations import defect_type_get_or_create
from inspection.services.review_hotkeys import defect_type_next_color, review_item_decide_with_new_defect_type
from inspection.services.reviews import review_item_claim_next, review_item_decide, review_item_release
from inspection.web.common import product_page_context
from inspection.web.forms import ReviewDecisionForm
from inspection.web.inspections import inspection_context
from inspection.web.review_words import normal_verdict_words


@login_required
@require_GET
def review_page(request, product_id: int):
    product = product_get(product_id=product_id)
    if "overview" not in request.GET:
        # Someone who holds a part goes straight back to it.
        held = review_item_held_by(product=product, user=request.user)
        if held is not None:
            return redirect("review-item", product_id=product.pk, item_id=held.pk)
    counts = review_queue_counts(product=product, user=request.user)
    context = {
        **product_page_context(product, "review"),
        "pending_count": counts["pending"],
        "held_by_others": counts["held_by_others"],
        "upcoming": list(review_item_list(product=product, state="pending")[:10]),
        "decided": list(review_item_list(product=product, state="decided")[:15]),
    }
    return render(request, "review.html", context)


@login_required
@require_POST
def review_next(request, product_id: int):
    product = product_get(product_id=product_id)
    item = review_item_claim_next(product=product, user=request.user)
    if item is None:
        messages.info(request, "Nothing left to review: the queue is empty or the remaining parts are held by others.")
        return redirect(reverse("review-page", args=[product.pk]) + "?overview=1")
    return redirect("review-item", product_id=product.pk, item_id=item.pk)


def _item_context(request, product, item, form=None, new_defect_type=None) -> dict:
    hotkey_types = list(defect_types_in_hotkey_order(product=product)[:HOTKEYS])
    return {
        **product_page_context(product, "review"),
        **inspection_context(item.inspection),
        "item": item,
        "form": form or ReviewDecisionForm(),
        "defect_types": sorted({*image_defect_type_names(product=product), *(kind.name for kind in hotkey_types)}),
        "hotkey_types": hotkey_types,
        "new_defect_type": new_defect_type,
        "held_by_me": item.status == ReviewItem.Status.CLAIMED and item.claimed_by_id == request.user.pk,
        "held_by_other": (
            item.status == ReviewItem.Status.CLAIMED
            and item.claimed_by_id != request.user.pk
            and item.claim_expires_at is not None
            and item.claim_expires_at > timezone.now()
        ),
    }


@login_required
@require_GET
def review_item_page(request, product_id: int, item_id: int):
    product = product_get(product_id=product_id)
    item = review_item_get(product=product, item_id=item_id)
    return render(request, "review_item.html", _item_context(request, product, item))


@login_required
@require_POST
def review_decide(request, product_id: int, item_id: int):
    product = product_get(product_id=product_id)
    item = review_item_get(product=product, item_id=item_id)
    form = ReviewDecisionForm(request.POST)
    if not form.is_valid():
        return render(request, "review_item.html", _item_context(request, product, item, form), status=400)
    data = form.cleaned_data
    new_type = None
    if data["decision"] == ReviewItem.Verdict.DEFECTIVE:
        known = defect_type_matching(product=product, name=data["defect_type"])
        in_data_set = {name.lower(): name for name in image_defect_type_names(product=product)}.get(
            data["defect_type"].lower()
        )
        if known is not None:
            data["defect_type"] = known.name
        elif in_data_set is not None:
            # Already a defect type of the product's images, from before defect types had colours.
            data["defect_type"] = defect_type_get_or_create(product=product, name=in_data_set).name
        elif request.POST.get("add_defect_type") != "yes":
            # A typed name that is not a defect type of the product is added only once confirmed.
            proposal = {
                "name": data["defect_type"].strip(),
                "color": defect_type_next_color(product=product),
                "note": data["note"],
                "then": request.POST.get("then", ""),
            }
            return render(request, "review_item.html", _item_context(request, product, item, form, proposal))
        else:
            new_type = data["defect_type"]
    try:
        if new_type is not None:
            item = review_item_decide_with_new_defect_type(
                item=item,
                user=request.user,
                defect_type=new_type,
                color=request.POST.get("color", ""),
                note=data["note"],
            )
        else:
            item = review_item_decide(
                item=item,
                user=request.user,
                decision=data["decision"],
                defect_type=data["defect_type"],
                note=data["note"],
            )
    except ServiceError as error:
        form.add_error(None, error.message)
        return render(request, "review_item.html", _item_context(request, product, item, form), status=409)
    name = item.inspection.original_name
    if item.decision == ReviewItem.Verdict.NORMAL:
        level, words = normal_verdict_words(item)
        messages.add_message(request, level, words)
    else:
        messages.success(request, f"{name} confirmed defective ({item.defect_type}); it joins the test images.")
        if request.POST.get("then") == "annotate" and item.resulting_image_id:
            # Straight to the editor; an image still being aligned waits there until it can be drawn on.
            return redirect("annotate-page", product_id=product.pk, image_id=item.resulting_image_id)
    following = review_item_claim_next(product=product, user=request.user)
    if following is None:
        messages.info(request, "That was the last part in the queue.")
        return redirect(reverse("review-page", args=[product.pk]) + "?overview=1")
    return redirect("review-item", product_id=product.pk, item_id=following.pk)


@login_required
@require_POST
def review_release(request, product_id: int, item_id: int):
    product = product_get(product_id=product_id)
    item = review_item_get(product=product, item_id=item_id)
    try:
        review_item_release(item=item, user=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.info(request, f"{item.inspection.original_name} is back in the queue for anyone to take.")
    return redirect(reverse("review-page", args=[product.pk]) + "?overview=1")
