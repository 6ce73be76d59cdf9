"""The names and defaults a training recipe chooses among, kept apart from the networks, losses and inputs that
use them: what `colorize train`'s flags offer, importable without Keras or TensorFlow, so that
`colorize train --help` and a wrong flag answer at once. The modules that use them re-export them."""

ARCHITECTURES = ("alpha", "beta", "fusion")
SCRATCH = "scratch"  # beta's own Deep Koalarization encoder, learned from the training photos
MAX_WIDTH = 4        # the decoder's widest multiple
ENCODER_TRAINING = ("finetune", "frozen", "partial")  # partial: the stem and the blocks to 1/8 stay frozen
LOSSES = ("mse", "mae", "classification")
AUGMENTS = ("flip", "zoom")
# lambda, the uniform share in the rebalancing. Zhang et al. use 0.5; on 1445 photos that bought colour
# at the cost of all gain in AuC over grayscale, and 0.8 kept both (model/default/model.json, experiments).
REBALANCE_MIX = 0.8
DEFAULT_TEMPERATURE = 0.38
