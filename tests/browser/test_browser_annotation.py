"""Drawing defect regions in the annotation editor with a real mouse, and what gets stored.

The picture is one of the engine's synthetic zipper cursors with a scratch,
registered as it is (its aligned copy is the picture itself), 320x240 so that
width and height cannot be swapped unnoticed.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from django.core.files.base import ContentFile
from PIL import Image as PillowImage
from playwright.sync_api import expect

from inspection.models import Annotation, Image
from inspection.services.annotations import RegionInput, annotation_save
from tests.browser.conftest import screenshot
from tests.platform.factories import DefectTypeFactory, ImageFactory, ProductFactory
from tests.synthetic_images import png_bytes

WIDTH, HEIGHT = 320, 240
BRUSH_RADIUS = 10  # the editor's default brush is 20 pixels across


@pytest.fixture
def scratched(db, private_media):
    """A registered picture of a cursor with a scratch, and the scratch's two ends in image pixels."""
    from inspection.engine.data.synth import render_cursor

    picture, truth = render_cursor(1, seed=(7, 1, 2, 0), defect="scratch", size=(HEIGHT, WIDTH))
    content = png_bytes((picture[:, :, 0] * 255).round().astype(np.uint8))
    image = ImageFactory(
        product=ProductFactory(name="Zipper cursor"),
        content=content,
        width=WIDTH,
        height=HEIGHT,
        original_name="cursor_scratch.png",
        label=Image.Label.DEFECTIVE,
        defect_type="scratch",
        split=Image.Split.TEST,
        registration_status=Image.RegistrationStatus.REGISTERED,
        registration_quality=1.0,
        aligned_file=ContentFile(content, name="aligned.png"),
    )
    ys, xs = np.nonzero(truth)
    points = np.stack([xs, ys], axis=1).astype(float)
    # The scratch's ends: its extreme points along its main direction.
    centre = points.mean(axis=0)
    direction = np.linalg.svd(points - centre)[2][0]
    along = (points - centre) @ direction
    ends = (tuple(points[along.argmin()] + 0.5), tuple(points[along.argmax()] + 0.5))
    return image, ends


def open_editor(page, image):
    page.goto(f"/products/{image.product_id}/images/{image.pk}/annotate/")
    expect(page.locator("[data-annotator]")).to_have_attribute("data-state", "ready")


def image_box(page) -> dict:
    return page.evaluate(
        """() => { const box = document.querySelector('[data-base-image]').getBoundingClientRect();
                   return { left: box.left, top: box.top, width: box.width, height: box.height }; }"""
    )


def to_screen(page, x: float, y: float) -> tuple[int, int]:
    """The whole screen pixel nearest to image point (x, y); whole, so that it maps back exactly."""
    box = image_box(page)
    return round(box["left"] + x * box["width"] / WIDTH), round(box["top"] + y * box["height"] / HEIGHT)


def to_image(page, point: tuple[int, int]) -> np.ndarray:
    box = image_box(page)
    return np.array([(point[0] - box["left"]) * WIDTH / box["width"], (point[1] - box["top"]) * HEIGHT / box["height"]])


def drag(page, start: tuple[int, int], end: tuple[int, int]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=25)
    page.mouse.up()


def add_defect_type(page, name: str, colour: str) -> None:
    page.get_by_label("New defect type").fill(name)
    page.get_by_label("Colour", exact=True).fill(colour)
    page.get_by_role("button", name="Add type").click()
    expect(page.locator("[data-type-list]")).to_contain_text(name)
    expect(page.get_by_label("Defect type of new regions")).to_have_value(
        str(page.evaluate(f"window.annotationEditor.types.find((type) => type.name === {name!r}).id"))
    )


def save(page, revision: int) -> None:
    page.locator("[data-save]").click()
    expect(page.locator("[data-save-status]")).to_contain_text(f"Saved as revision {revision}")


def stored_masks(image) -> list[np.ndarray]:
    annotation = Annotation.objects.filter(image=image).order_by("-revision").first()
    masks = []
    for region in annotation.regions.order_by("id"):
        with region.mask.open("rb") as handle:
            masks.append(np.asarray(PillowImage.open(handle)))
    return masks


def distance_to_segment(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of every pixel centre of the image from the segment a-b."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    centres = np.stack([xs + 0.5, ys + 0.5], axis=-1)
    direction = b - a
    t = np.clip(((centres - a) @ direction) / (direction @ direction), 0, 1)
    return np.linalg.norm(centres - (a + t[..., None] * direction), axis=-1)


def test_a_brush_stroke_is_saved_as_the_pixels_along_it_and_shown_again_after_reloading(signed_in_page, scratched):
    page = signed_in_page
    image, (start, end) = scratched
    open_editor(page, image)
    expect(page.locator("[data-dirty-state]")).to_have_text("Not annotated yet")
    add_defect_type(page, "scratch", "#e6194b")

    screen_start, screen_end = to_screen(page, *start), to_screen(page, *end)
    line = to_image(page, screen_start), to_image(page, screen_end)
    drag(page, screen_start, screen_end)
    expect(page.locator("[data-region-list] li")).to_have_count(1)
    expect(page.locator("[data-dirty-state]")).to_have_text("Unsaved changes")
    save(page, 1)
    expect(page.locator("[data-dirty-state]")).to_have_text("All changes saved")

    page.reload()
    expect(page.locator("[data-annotator]")).to_have_attribute("data-state", "ready")
    expect(page.locator("[data-region-list] li")).to_have_count(1)
    expect(page.locator("[data-region-list] select")).to_have_value(
        str(page.evaluate("window.annotationEditor.types[0].id"))
    )
    expect(page.locator("[data-revision-list]")).to_contain_text("Revision 1")
    screenshot(page, "20-annotation-editor", full_page=False)

    (mask,) = stored_masks(image)
    assert mask.shape == (HEIGHT, WIDTH) and set(np.unique(mask)) == {0, 255}
    distance = distance_to_segment(*line)
    drawn = mask == 255
    assert drawn[distance <= 1].all(), "pixels along the stroke are missing"
    assert distance[drawn].max() <= BRUSH_RADIUS + 2, "pixels far from the stroke were set"
    # Nearly the whole band of the brush's width is set, not a thin line.
    assert drawn[distance <= BRUSH_RADIUS - 1].mean() > 0.99
    shown = page.evaluate("window.annotationEditor.regions[0].area")
    assert shown == int(drawn.sum())


def test_a_polygon_is_filled_when_closed_with_enter(signed_in_page, scratched):
    page = signed_in_page
    image, _ = scratched
    DefectTypeFactory(product=image.product, name="dent", color="#4363d8")
    open_editor(page, image)
    corners = [(60.5, 50.5), (200.5, 70.5), (170.5, 190.5), (80.5, 160.5)]
    page.keyboard.press("p")
    expect(page.get_by_role("button", name="Polygon P")).to_have_attribute("aria-pressed", "true")
    screen = [to_screen(page, *corner) for corner in corners]
    for point in screen:
        page.mouse.click(*point)
    expect(page.locator("[data-tool-layer] .polygon-corner")).to_have_count(3)
    page.keyboard.press("Enter")
    expect(page.locator("[data-region-list] li")).to_have_count(1)
    save(page, 1)

    (mask,) = stored_masks(image)
    polygon = np.array([to_image(page, point) for point in screen], dtype=np.float32)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    inside = np.array(
        [cv2.pointPolygonTest(polygon, (float(x) + 0.5, float(y) + 0.5), True) for x, y in zip(xs.ravel(), ys.ravel())]
    ).reshape(HEIGHT, WIDTH)
    drawn = mask == 255
    assert drawn[inside >= 1].all() and not drawn[inside <= -1].any()


def test_undo_and_redo_take_back_and_repeat_strokes_and_only_what_is_left_is_saved(signed_in_page, scratched):
    page = signed_in_page
    image, _ = scratched
    DefectTypeFactory(product=image.product, name="scratch", color="#e6194b")
    open_editor(page, image)
    first = (to_screen(page, 40.5, 40.5), to_screen(page, 120.5, 40.5))
    second = (to_screen(page, 40.5, 180.5), to_screen(page, 120.5, 180.5))
    drag(page, *first)
    first_area = page.evaluate("window.annotationEditor.regions[0].area")
    drag(page, *second)
    area = "window.annotationEditor.regions[0].area"
    assert page.evaluate(area) > first_area

    page.keyboard.press("Control+z")
    assert page.evaluate(area) == first_area
    page.keyboard.press("Control+Shift+z")
    assert page.evaluate(area) > first_area
    page.get_by_role("button", name="Undo").click()
    assert page.evaluate(area) == first_area
    expect(page.get_by_role("button", name="Redo")).to_be_enabled()
    # Undoing the first stroke also takes back the region it started.
    page.keyboard.press("Control+z")
    expect(page.locator("[data-region-list] li")).to_have_count(0)
    page.keyboard.press("Control+y")
    expect(page.locator("[data-region-list] li")).to_have_count(1)
    save(page, 1)

    (mask,) = stored_masks(image)
    drawn = mask == 255
    assert drawn[40, 80] and not drawn[180, 80]
    assert int(drawn.sum()) == first_area


def test_the_eraser_takes_pixels_out_of_the_selected_region(signed_in_page, scratched):
    page = signed_in_page
    image, _ = scratched
    DefectTypeFactory(product=image.product, name="scratch", color="#e6194b")
    open_editor(page, image)
    page.get_by_label("Brush size").fill("40")
    drag(page, to_screen(page, 40.5, 120.5), to_screen(page, 280.5, 120.5))
    page.keyboard.press("e")
    page.get_by_label("Brush size").fill("20")
    drag(page, to_screen(page, 160.5, 60.5), to_screen(page, 160.5, 180.5))
    save(page, 1)
    (mask,) = stored_masks(image)
    assert mask[120, 60] == 255 and mask[120, 260] == 255
    assert mask[120, 160] == 0


def test_a_newer_revision_saved_meanwhile_is_reported_and_the_drawing_is_kept(signed_in_page, scratched, user):
    page = signed_in_page
    image, _ = scratched
    scratch = DefectTypeFactory(product=image.product, name="scratch", color="#e6194b")
    open_editor(page, image)
    drag(page, to_screen(page, 40.5, 40.5), to_screen(page, 120.5, 40.5))
    # Someone else saves while this drawing is open.
    other = np.zeros((HEIGHT, WIDTH), np.uint8)
    other[100:110, 100:110] = 255
    annotation_save(
        image=image, base_revision=0, regions=[RegionInput(scratch.pk, png_bytes(other), "theirs")], created_by=user
    )

    page.locator("[data-save]").click()
    conflict = page.locator("[data-conflict]")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("Someone saved a newer revision (1")
    expect(page.locator("[data-region-list] li")).to_have_count(1)
    expect(page.locator("[data-dirty-state]")).to_have_text("Unsaved changes")

    page.get_by_role("button", name="Save mine as the newest revision").click()
    expect(page.locator("[data-save-status]")).to_contain_text("Saved as revision 2")
    expect(conflict).to_be_hidden()
    (mask,) = stored_masks(image)
    assert mask[40, 80] == 255 and mask[105, 105] == 0


def test_an_earlier_revision_can_be_viewed_and_restored(signed_in_page, scratched, user):
    page = signed_in_page
    image, _ = scratched
    scratch = DefectTypeFactory(product=image.product, name="scratch", color="#e6194b")
    square = np.zeros((HEIGHT, WIDTH), np.uint8)
    square[100:110, 100:110] = 255
    annotation_save(
        image=image, base_revision=0, regions=[RegionInput(scratch.pk, png_bytes(square), "a")], created_by=user
    )
    annotation_save(image=image, base_revision=1, regions=[], note="cleared by mistake", created_by=user)
    open_editor(page, image)
    expect(page.locator("[data-region-list] li")).to_have_count(0)
    expect(page.locator("[data-revision-list]")).to_contain_text("cleared by mistake")

    page.get_by_role("button", name="View revision 1").click()
    expect(page.locator("[data-viewing-banner]")).to_contain_text("Revision 1, read-only.")
    expect(page.locator("[data-region-list] li")).to_have_count(1)
    page.get_by_role("button", name="Back to editing").click()
    expect(page.locator("[data-region-list] li")).to_have_count(0)

    page.get_by_role("button", name="Restore revision 1").click()
    expect(page.locator("[data-save-status]")).to_contain_text("Revision 1 restored as revision 3")
    expect(page.locator("[data-region-list] li")).to_have_count(1)
    (mask,) = stored_masks(image)
    assert int((mask == 255).sum()) == 100


def test_zooming_and_panning_keep_the_drawing_on_the_pixels_under_the_pointer(signed_in_page, scratched):
    page = signed_in_page
    image, _ = scratched
    DefectTypeFactory(product=image.product, name="scratch", color="#e6194b")
    open_editor(page, image)
    zoom = page.locator("[data-zoom-text]")
    fitted = zoom.text_content()
    page.mouse.move(*to_screen(page, 160, 120))
    page.mouse.wheel(0, -400)
    expect(zoom).not_to_have_text(fitted)
    before = image_box(page)
    # Space + drag pans, and so does the middle button.
    page.keyboard.down(" ")
    drag(page, (500, 500), (440, 470))
    page.keyboard.up(" ")
    page.mouse.move(500, 500)
    page.mouse.down(button="middle")
    page.mouse.move(480, 520, steps=5)
    page.mouse.up(button="middle")
    after = image_box(page)
    assert (round(after["left"] - before["left"]), round(after["top"] - before["top"])) == (-80, -10)
    assert (
        Annotation.objects.filter(image=image).count() == 0
        and page.evaluate("window.annotationEditor.regions.length") == 0
    )

    page.keyboard.press("]")
    expect(page.locator("[data-brush-size-text]")).to_have_text("25 px")
    page.keyboard.press("p")
    corners = [(120.5, 80.5), (170.5, 85.5), (165.5, 130.5), (118.5, 125.5)]
    screen = [to_screen(page, *corner) for corner in corners]
    for point in screen[:-1]:
        page.mouse.click(*point)
    page.mouse.dblclick(*screen[-1])
    expect(page.locator("[data-region-list] li")).to_have_count(1)
    save(page, 1)
    (mask,) = stored_masks(image)
    polygon = np.array([to_image(page, point) for point in screen], dtype=np.float32)
    ys, xs = np.nonzero(mask == 255)
    assert all(cv2.pointPolygonTest(polygon, (x + 0.5, y + 0.5), True) >= -1 for x, y in zip(xs, ys))
    assert mask[105, 145] == 255


def test_renaming_and_recolouring_a_defect_type_repaints_its_regions(signed_in_page, scratched):
    page = signed_in_page
    image, _ = scratched
    DefectTypeFactory(product=image.product, name="scratch", color="#e6194b")
    open_editor(page, image)
    drag(page, to_screen(page, 40.5, 40.5), to_screen(page, 120.5, 40.5))
    pixel = "Array.from(window.annotationEditor.regions[0].canvas.getContext('2d').getImageData(80, 40, 1, 1).data)"
    assert page.evaluate(pixel) == [0xE6, 0x19, 0x4B, 255]

    page.get_by_role("button", name="Edit defect type scratch").click()
    page.get_by_label("New name of scratch").fill("deep scratch")
    page.get_by_label("Colour of scratch").fill("#00ff00")
    page.get_by_role("button", name="Save type").click()
    expect(page.locator("[data-type-list]")).to_contain_text("deep scratch")
    expect(page.get_by_label("Defect type of region 1")).to_contain_text("deep scratch")
    assert page.evaluate(pixel) == [0, 255, 0, 255]

    # A name already taken is refused in words.
    page.get_by_label("New defect type").fill("deep scratch")
    page.get_by_role("button", name="Add type").click()
    expect(page.locator("[data-type-error]")).to_have_text(
        "The product already has a defect type named 'deep scratch'."
    )


def test_a_confirmed_defect_is_drawn_right_after_review_and_outlined_over_its_heatmap(signed_in_page, private_media):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from inspection.services.inspections import inspection_run
    from tests.platform.loop_data import activated_version, ready_product
    from tests.synthetic_images import SIZE, defective_png

    page = signed_in_page
    product = ready_product(train=8, test_good=4, test_defective=4, name="Hinge")
    activated_version(product)
    product.refresh_from_db()
    inspection = inspection_run(product=product, file=SimpleUploadedFile("flagged.png", defective_png(7)))
    page.goto(f"/products/{product.pk}/review/{inspection.review_item.pk}/")
    page.get_by_label("Defect type D").fill("scratch")
    page.get_by_role("button", name="Confirm and draw the defect region").click()
    expect(page.get_by_role("heading", name="Annotate flagged.png")).to_be_visible()
    expect(page.locator("[data-annotator]")).to_have_attribute("data-state", "ready")
    add_defect_type(page, "scratch", "#e6194b")
    box = image_box(page)
    drag(
        page,
        (round(box["left"] + box["width"] * 0.3), round(box["top"] + box["height"] * 0.5)),
        (round(box["left"] + box["width"] * 0.6), round(box["top"] + box["height"] * 0.5)),
    )
    save(page, 1)

    page.goto(f"/products/{product.pk}/inspections/{inspection.pk}/")
    outlines = page.locator("[data-region-outlines]")
    expect(outlines).to_be_visible()
    expect(outlines.locator("path")).to_have_count(1)
    assert outlines.get_attribute("viewBox") == f"0 0 {SIZE} {SIZE}"
    screenshot(page, "21-inspection-with-drawn-regions", full_page=False)
    page.get_by_label("Outline the drawn defect regions").uncheck()
    expect(outlines).to_be_hidden()


def test_leaving_with_unsaved_changes_asks_first(signed_in_page, scratched):
    page = signed_in_page
    image, _ = scratched
    DefectTypeFactory(product=image.product, name="scratch", color="#e6194b")
    open_editor(page, image)
    drag(page, to_screen(page, 40.5, 40.5), to_screen(page, 120.5, 40.5))
    asked = []

    def answer(dialog):
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", answer)
    page.get_by_role("link", name="Data set").click()
    page.wait_for_timeout(300)
    assert asked == ["beforeunload"]
    # Staying keeps the drawing.
    assert page.evaluate("window.annotationEditor.regions.length") == 1
    expect(page.locator("[data-dirty-state]")).to_have_text("Unsaved changes")


@pytest.mark.parametrize("width,height", [(1280, 800), (820, 1180)], ids=["laptop", "tablet"])
def test_the_editor_fits_the_screen(signed_in_page, scratched, width, height):
    page = signed_in_page
    image, _ = scratched
    page.set_viewport_size({"width": width, "height": height})
    open_editor(page, image)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the editor is {overflow}px wider than a {width}px screen"
    # The whole drawing area is on the first screen, under the toolbar.
    bottom = page.evaluate("document.querySelector('[data-viewport]').getBoundingClientRect().bottom")
    assert bottom <= height
    screenshot(page, f"{'tablet' if width < 1000 else 'page'}-annotate", full_page=False)
