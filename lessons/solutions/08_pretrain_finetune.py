"""Solution to lesson 08's build-it exercise: a freeze-then-unfreeze schedule (the head learns alone first,
so that its random weights do not send large gradients into the pre-trained backbone; then both learn),
checked with `lmzoo.lesson.check_freeze_then_unfreeze`. The tests run this file (tests/test_lessons.py)."""

import keras

from lmzoo.lesson import check_freeze_then_unfreeze


def freeze_then_unfreeze(classifier, x, y, *, frozen_epochs: int, epochs: int, learning_rate: float = 1e-2) -> None:
    for trainable, phase_epochs in ((False, frozen_epochs), (True, epochs - frozen_epochs)):
        classifier.backbone.trainable = trainable
        # compile after every change of `trainable`: it fixes which weights the training step updates.
        classifier.compile(optimizer=keras.optimizers.Adam(learning_rate),
                           loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        classifier.fit(x, y, epochs=phase_epochs, batch_size=16, verbose=0)


check_freeze_then_unfreeze(freeze_then_unfreeze)
