"""Fine-tuning a pre-trained run for a task: text classification and translation.

The recipe every article ends with: pre-train on raw text, then train a little more on labelled
data. A task reaches its pre-trained run only through `lmzoo.protocols` (never a family's
internals) and reuses that run's tokenizer:

- **Classification** (`SequenceClassifier`): a copy of the run's `Backbone` (ids → hidden states;
  copied, so that one pre-trained model in memory can start several fine-tuning runs), pooled
  over the sentence (the mean over non-pad positions, or the last real position for a causal or
  recurrent backbone), dropout and a dense layer to the labels. The backbone can be frozen
  (`freeze=True`: only the head learns) or fine-tuned with its own, usually smaller, learning rate
  (`backbone_learning_rate`).
- **Translation as a decoder-only LM** (`architecture="decoder_only"`): the run's own causal
  network (`CausalNetwork`, output layer included) is trained further on `<s> source <sep> target
  </s>`, where `<sep>` is the tokenizer's `</s>` id, with the loss on the target tokens only
  (sample weights 0 on the source). Translating is greedy decoding after `<s> source <sep>`, batched
  for evaluation and through `lmzoo.models.sampling` for `generate` (every sampler).
- **Translation as an encoder–decoder** (`architecture="encoder_decoder"`): a GRU encoder and a GRU
  decoder with additive (Bahdanau) attention over the encoder states, written here with Keras
  layers (the seq2seq family is an autoencoder; a task never imports a family). Its target-side
  embedding starts from the pre-trained run's backbone when that backbone is an embedding table
  (Word2Vec), and the pre-trained run's tokenizer encodes both sides.

`init="scratch"` is the baseline for every neural task: the same architecture, freshly initialised
(`keras.models.clone_model` rebuilds it from its config), with the same data and budget. The
counting baseline is `CountingClassifier` (Naive Bayes log-count ratios on binary n-gram features,
then logistic regression: Wang & Manning 2012) and the translation baseline `CopyTranslator`.

A fine-tuned run is a normal run directory (config.json, tokenizer.json, task.keras,
metrics.jsonl, timing.json, COMPLETE), resumable from its checkpoint and reloaded by `load`; the
family `finetuned` in `lmzoo.families` points here. The harness scores it through the
`Classifier` and `Translator` protocols (accuracy; BLEU and chrF with sacrebleu).

References: Dai & Le 2015, "Semi-supervised sequence learning" (pre-train an LM or a sequence
autoencoder, then fine-tune); Howard & Ruder 2018 (ULMFiT: smaller rates for lower layers);
Radford et al. 2018 (GPT: task formats for a decoder-only model); Bahdanau et al. 2015; Wang &
Manning 2012 (NBSVM).

Layout (each module one role; this package re-exports the public names):
`config` (FinetuneConfig, PRESETS), `encoding` (token rows, the tokenizer check), `backbones`
(copying or re-initialising a pre-trained network), `classify` (SequenceClassifier,
FinetunedClassifier), `translate` (AttentionTranslator, FinetunedTranslator), `baselines`
(CountingClassifier, CopyTranslator), `training` (finetune, load, FAMILY).
"""

from lmzoo.models.tasks.baselines import CopyTranslator, CountingClassifier
from lmzoo.models.tasks.classify import FinetunedClassifier, SequenceClassifier
from lmzoo.models.tasks.config import FAMILY_NAME, MODEL_FILE, PRESETS, FinetuneConfig
from lmzoo.models.tasks.encoding import check_tokenizer, translation_rows
from lmzoo.models.tasks.training import FAMILY, finetune, load, subsample
from lmzoo.models.tasks.translate import AttentionTranslator, FinetunedTranslator

__all__ = ["FAMILY", "FAMILY_NAME", "MODEL_FILE", "PRESETS", "AttentionTranslator", "CopyTranslator",
           "CountingClassifier", "FinetuneConfig", "FinetunedClassifier", "FinetunedTranslator",
           "SequenceClassifier", "check_tokenizer", "finetune", "load", "subsample", "translation_rows"]
