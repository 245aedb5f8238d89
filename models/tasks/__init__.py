"""Fine-tuning a pre-trained run for a task: text classification and translation.

Pre-train on raw text, then train a little more on labelled data. A task reaches its pre-trained run
only through `lmzoo.protocols` and builds on `lmzoo.models.layers`, never on a family, and reuses the
run's tokenizer. Classification (`SequenceClassifier`) pools a copy of the run's `Backbone` under a
dense head. Translation either trains the run's `CausalNetwork` further on `<s> source <sep> target
</s>` (`architecture="decoder_only"`) or trains a GRU encoder–decoder with attention
(`AttentionTranslator`, started from the run's LM or embeddings). `init="scratch"` is the same
architecture freshly initialised; `CountingClassifier` (NB-LR) and `CopyTranslator` are the counting
baselines. A fine-tuned run is a normal, resumable run directory. Modules: `config`, `encoding`,
`backbones`, `classify`, `translate`, `baselines`, `training`; design notes in
`benchmarks/results/NOTES.md` (`## tasks`).

References: Dai & Le 2015; Howard & Ruder 2018 (ULMFiT); Radford et al. 2018 (GPT task formats);
Bahdanau et al. 2015; Ramachandran et al. 2017; Wang & Manning 2012 (NBSVM).

Example:
    >>> FinetuneConfig(task="translate", architecture="encoder_decoder").num_layers
    1
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
