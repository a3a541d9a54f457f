"""The upload form's defaults cannot silently leave images out of training."""

from __future__ import annotations

import re

from tests.platform.factories import ProductFactory


def test_uploads_default_to_normal_training_images_and_unknown_is_explained(client, user, db):
    product = ProductFactory()
    client.force_login(user)
    page = client.get(f"/products/{product.pk}/images/").content.decode()
    form = page[page.index('id="upload-form"') : page.index("</form>", page.index('id="upload-form"'))]
    assert re.search(r'<option value="normal" selected>', form)
    assert re.search(r'<option value="train" selected>', form)
    assert "unknown ones wait until labelled" in form
