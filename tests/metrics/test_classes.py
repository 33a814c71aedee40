"""Class histograms, their KL to uniform, conditional accuracy and Stacked MNIST mode ids."""

import math

import pytest
import torch

from gankit.metrics.classes import (channel_predictions, class_histogram, kl_to_uniform, label_accuracy,
                                    stacked_modes)


def test_kl_to_uniform_known_answers():
    assert kl_to_uniform(torch.tensor([5, 5, 5, 5])) == pytest.approx(0.0)
    assert kl_to_uniform(torch.tensor([0, 7, 0, 0])) == pytest.approx(math.log(4))
    # p = (1/2, 1/2, 0, 0): sum p log(4p) = log 2
    assert kl_to_uniform(torch.tensor([3, 3, 0, 0])) == pytest.approx(math.log(2))


def test_histogram_accuracy_and_stacked_ids():
    predicted = torch.tensor([1, 1, 2, 9])
    assert class_histogram(predicted, 10).tolist() == [0, 2, 1, 0, 0, 0, 0, 0, 0, 1]
    assert label_accuracy(predicted, torch.tensor([1, 0, 2, 9])) == pytest.approx(0.75)
    assert stacked_modes(torch.tensor([[1, 2, 3], [0, 0, 7]])).tolist() == [123, 7]


def test_channel_predictions_classify_each_channel_alone_in_order():
    # A "classifier" that reads the digit off a one-channel image's first pixel.
    def predict(one_channel):
        assert one_channel.shape[1] == 1
        return one_channel[:, 0, 0, 0].long()

    images = torch.zeros(2, 3, 4, 4)
    images[0, :, 0, 0] = torch.tensor([4.0, 0.0, 9.0])
    images[1, :, 0, 0] = torch.tensor([1.0, 7.0, 3.0])
    digits = channel_predictions(predict, images)
    assert digits.tolist() == [[4, 0, 9], [1, 7, 3]]
    assert stacked_modes(digits).tolist() == [409, 173]
