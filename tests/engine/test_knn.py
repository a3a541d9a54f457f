import numpy as np
import pytest

from inspection.engine.errors import TrainingDataError
from inspection.engine.features.knn import KNNScorer


def brute_force_mean_distance(queries, train, k, exclude_same_index=False):
    scores = []
    for row, query in enumerate(queries):
        distances = np.sqrt(((train - query) ** 2).sum(axis=1))
        if exclude_same_index:
            distances = np.delete(distances, row)
        scores.append(np.sort(distances)[:k].mean())
    return np.array(scores)


@pytest.fixture
def training_embeddings():
    return np.random.default_rng(0).normal(size=(40, 12)).astype(np.float32) * np.arange(1, 13)


def test_hyper_parameters_are_stored_unchanged_and_fit_returns_self(training_embeddings):
    scorer = KNNScorer(n_neighbors=3, standardize=False)
    assert scorer.get_params() == {"n_neighbors": 3, "standardize": False, "variance_shrinkage": 0.0}
    assert scorer.fit(training_embeddings) is scorer
    assert scorer.n_neighbors == 3


def test_leave_one_out_training_scores_match_brute_force(training_embeddings):
    scorer = KNNScorer(n_neighbors=5).fit(training_embeddings)
    standardised = (training_embeddings - training_embeddings.mean(0)) / training_embeddings.std(0)
    expected = brute_force_mean_distance(standardised, standardised, 5, exclude_same_index=True)
    np.testing.assert_allclose(scorer.training_scores_, expected, rtol=1e-5)


def test_leave_one_out_scores_equal_scoring_each_embedding_against_the_others(training_embeddings):
    scorer = KNNScorer(n_neighbors=5, variance_shrinkage=1.0).fit(training_embeddings)
    for row in (0, 17, 39):
        others = np.delete(training_embeddings, row, axis=0)
        held_out = KNNScorer(n_neighbors=5, variance_shrinkage=1.0).fit(training_embeddings)
        held_out.train_embeddings_ = held_out._standardize(others)  # same scaling, one embedding fewer
        assert held_out.score(training_embeddings[row : row + 1])[0] == pytest.approx(
            scorer.training_scores_[row], rel=1e-6
        )


def test_a_duplicated_training_embedding_finds_its_twin_at_distance_zero_leave_one_out(training_embeddings):
    doubled = np.concatenate([training_embeddings, training_embeddings[:1]])
    scorer = KNNScorer(n_neighbors=1, standardize=False).fit(doubled)
    assert scorer.training_scores_[0] == 0.0 and scorer.training_scores_[-1] == 0.0
    assert (scorer.training_scores_[1:-1] > 0).all()


def test_scores_of_new_embeddings_match_brute_force(training_embeddings):
    scorer = KNNScorer(n_neighbors=4).fit(training_embeddings)
    queries = np.random.default_rng(1).normal(size=(7, 12)).astype(np.float32)
    standardised_train = (training_embeddings - training_embeddings.mean(0)) / training_embeddings.std(0)
    standardised_queries = (queries - training_embeddings.mean(0)) / training_embeddings.std(0)
    expected = brute_force_mean_distance(standardised_queries, standardised_train, 4)
    np.testing.assert_allclose(scorer.score(queries), expected, rtol=1e-4)


def test_a_far_away_embedding_scores_above_every_training_embedding(training_embeddings):
    scorer = KNNScorer(n_neighbors=5).fit(training_embeddings)
    far_away = training_embeddings.mean(0, keepdims=True) + 50 * training_embeddings.std(0)
    assert scorer.score(far_away)[0] > scorer.training_scores_.max()


def test_standardisation_learns_mean_and_scale_and_equalises_feature_ranges(training_embeddings):
    scorer = KNNScorer().fit(training_embeddings)
    np.testing.assert_allclose(scorer.scaler_mean_, training_embeddings.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scorer.scaler_scale_, training_embeddings.std(0), rtol=1e-5)
    np.testing.assert_allclose(scorer.train_embeddings_.std(0), 1.0, rtol=1e-4)
    np.testing.assert_allclose(scorer.train_embeddings_.mean(0), 0.0, atol=1e-5)


def test_without_standardisation_raw_distances_are_used(training_embeddings):
    scorer = KNNScorer(n_neighbors=2, standardize=False).fit(training_embeddings)
    expected = brute_force_mean_distance(training_embeddings, training_embeddings, 2, exclude_same_index=True)
    np.testing.assert_allclose(scorer.training_scores_, expected, rtol=1e-4)


def test_constant_features_do_not_produce_nan(training_embeddings):
    embeddings = training_embeddings.copy()
    embeddings[:, 3] = 7.0
    scorer = KNNScorer().fit(embeddings)
    assert np.all(np.isfinite(scorer.training_scores_))
    assert np.all(np.isfinite(scorer.score(embeddings[:3] + 1.0)))


def test_fewer_than_two_training_embeddings_are_refused():
    with pytest.raises(TrainingDataError, match="at least 2"):
        KNNScorer().fit(np.zeros((1, 4)))


def test_k_larger_than_the_training_set_allows_is_clamped_to_n_train_minus_one():
    embeddings = np.random.default_rng(2).normal(size=(4, 3))
    scorer = KNNScorer(n_neighbors=15).fit(embeddings)
    assert scorer.n_neighbors == 15
    assert scorer.n_neighbors_ == 3


def test_nearest_indices_find_the_closest_training_embedding(training_embeddings):
    scorer = KNNScorer().fit(training_embeddings)
    queries = training_embeddings[[5, 17]] + 1e-3
    np.testing.assert_array_equal(scorer.nearest_indices(queries)[:, 0], [5, 17])
    assert scorer.nearest_indices(queries, k=3).shape == (2, 3)


def test_state_round_trips_as_plain_arrays_and_config(training_embeddings):
    scorer = KNNScorer(n_neighbors=3).fit(training_embeddings)
    config, arrays = scorer.get_state()
    assert all(isinstance(value, np.ndarray) for value in arrays.values())
    restored = KNNScorer.from_state(dict(config), dict(arrays))
    queries = training_embeddings[:5] * 1.1
    np.testing.assert_array_equal(restored.score(queries), scorer.score(queries))
    np.testing.assert_array_equal(restored.training_scores_, scorer.training_scores_)


def test_scoring_before_fit_is_refused():
    with pytest.raises(RuntimeError, match="not fitted"):
        KNNScorer().score(np.zeros((1, 3)))


def test_embeddings_of_the_wrong_width_are_refused(training_embeddings):
    scorer = KNNScorer().fit(training_embeddings)
    with pytest.raises(ValueError, match="features"):
        scorer.score(np.zeros((1, 5)))


def test_variance_shrinkage_scales_each_feature_by_its_variance_plus_a_share_of_the_average():
    embeddings = np.random.default_rng(2).normal(size=(30, 6)) * np.array([1, 2, 3, 4, 5, 1e-4])
    scorer = KNNScorer(variance_shrinkage=0.5).fit(embeddings)
    variance = embeddings.var(axis=0)
    np.testing.assert_allclose(scorer.scaler_scale_, np.sqrt(variance + 0.5 * variance.mean()), rtol=1e-5)


def test_variance_shrinkage_stops_a_nearly_constant_feature_from_outweighing_a_real_departure():
    rng = np.random.default_rng(3)
    train = rng.normal(size=(20, 8))
    train[:, 7] = rng.normal(scale=1e-4, size=20)  # a channel that barely varies on good parts
    noise = rng.normal(size=(1, 8)) * 0.5
    noise[0, 7] = 0.01  # a chance departure, tiny in absolute terms, 100 standard deviations
    defect = rng.normal(size=(1, 8)) * 0.5
    defect[0, 0] = 6.0  # a large departure in an ordinary feature
    defect[0, 7] = 0.0  # and the quiet channel as on good parts
    queries = np.concatenate([noise, defect])
    plain = KNNScorer(n_neighbors=3).fit(train).score(queries)
    shrunk = KNNScorer(n_neighbors=3, variance_shrinkage=1.0).fit(train).score(queries)
    assert plain[0] > plain[1]
    assert shrunk[1] > shrunk[0]


def test_a_negative_variance_shrinkage_is_refused(training_embeddings):
    with pytest.raises(ValueError, match="variance_shrinkage"):
        KNNScorer(variance_shrinkage=-1.0).fit(training_embeddings)


def test_variance_shrinkage_survives_the_state_round_trip_and_old_states_mean_none(training_embeddings):
    scorer = KNNScorer(variance_shrinkage=2.0).fit(training_embeddings)
    config, arrays = scorer.get_state()
    assert KNNScorer.from_state(config, arrays).variance_shrinkage == 2.0
    older = {key: value for key, value in config.items() if key != "variance_shrinkage"}
    assert KNNScorer.from_state(older, arrays).variance_shrinkage == 0.0
