"""explain costs what score costs: same scores, and each network runs once per image, for every method."""

import numpy as np
import pytest
from tiny_models import TINY_METHODS

from inspection.engine.methods import create_method
from tests.synthetic_images import defective_part, part_set


@pytest.fixture(scope="module", params=sorted(TINY_METHODS))
def fitted(request):
    return create_method(request.param, **TINY_METHODS[request.param]).fit(part_set(seed=2, n_normal=8))


@pytest.fixture(scope="module")
def probe():
    return part_set(seed=11, n_normal=2) + [defective_part(np.random.default_rng(4))[0]]


def test_explain_gives_the_scores_and_maps_that_score_and_anomaly_maps_give(fitted, probe):
    explanation = fitted.explain(probe)
    np.testing.assert_allclose(explanation.scores, fitted.score(probe), rtol=1e-6)
    np.testing.assert_allclose(explanation.maps, fitted.anomaly_maps(probe), rtol=1e-6, atol=1e-9)
    assert explanation.maps.shape == (len(probe), 96, 96)


class CallCounter:
    """Wraps a callable and counts how many images pass through it."""

    def __init__(self, function):
        self.function, self.images = function, 0

    def __call__(self, batch, *args, **kwargs):
        self.images += len(batch)
        return self.function(batch, *args, **kwargs)


def counted_networks(detector, monkeypatch) -> list[CallCounter]:
    """Replace each network entry point the method owns with a counter; return the counters."""
    counters = []
    passes = [detector] + ([detector.fine_pass_] if getattr(detector, "fine_pass_", None) is not None else [])
    for one_pass in passes:
        if hasattr(one_pass, "autoencoder_"):
            counters.append(CallCounter(one_pass.autoencoder_.reconstruct))
            monkeypatch.setattr(one_pass.autoencoder_, "reconstruct", counters[-1])
        if one_pass.name == "cpcae-knn":
            embedder = one_pass._embedder()
            counters.append(CallCounter(embedder.embed))
            monkeypatch.setattr(embedder, "embed", counters[-1])
        if one_pass.name == "patch-knn":
            extractor = one_pass._extractor()
            counters.append(CallCounter(extractor._extract))
            monkeypatch.setattr(extractor, "_extract", counters[-1])
    if detector.name == "deep-feature":
        from inspection.engine.methods import deep_feature

        original = deep_feature.compiled_forward
        counter = CallCounter(lambda batch: batch)
        counters.append(counter)

        def counting_forward(*args, **kwargs):
            forward = original(*args, **kwargs)
            return lambda batch: forward(counter(batch))

        monkeypatch.setattr(deep_feature, "compiled_forward", counting_forward)
    return counters


def test_explain_runs_each_network_once_per_image_as_score_does(fitted, probe, monkeypatch):
    counters = counted_networks(fitted, monkeypatch)
    fitted.explain(probe)
    explained = [counter.images for counter in counters]
    for counter in counters:
        counter.images = 0
    fitted.score(probe)
    assert explained == [counter.images for counter in counters]
    assert all(images == len(probe) for images in explained)
    if fitted.name in ("variation", "nearest-image"):
        assert counters == []  # no network: one pass over the pixels in both
