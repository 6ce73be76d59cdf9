"""The training recipe: the names and defaults it chooses among and the rules that join them (Recipe, checked when
it is made), kept apart from the networks, losses and inputs that use them and importable without Keras or
TensorFlow, so that `colorize train --help` and a wrong flag answer at once. `colorize train`, the training
sweeps (bench/train_sweep.py) and the shipped recipe's script all make their recipe here."""
import dataclasses

from basics.errors import UserError

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


class RecipeError(UserError):
    """A recipe whose choices do not go together; str() names the flags."""


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How to train: everything but the data and where the model goes. rebalance, temperature and vividness are
    the classification head's (None: its default, which a recipe of another loss must leave alone)."""
    architecture: str
    epochs: int
    batch_size: int = 16
    learning_rate: float = 1e-3
    loss: str = "mse"
    rebalance: float | None = None     # classification: lambda, the uniform share in the class rebalancing
    temperature: float | None = None   # classification: annealed-mean T of the written model.keras
    seed: int = 42
    lr_schedule: str = "constant"  # or "cosine": decays to 0 over the run's steps
    ema: bool = False              # validate and keep an exponential moving average of the weights
    augment: str = "flip"          # or "zoom": flips and random crops of 75-100 % of the side
    vividness: float | None = None  # classification: the written model's built-in colour strength
    skips: bool = False            # beta / fusion: U-Net-style skip connections, encoder to decoder
    decoder_width: int = 1         # beta / fusion: the decoder's filters, a multiple of networks.DECODER_FILTERS
    context: bool = False          # beta: a context branch, the whole photo's features joined back everywhere
    encoder: str = SCRATCH         # beta: its own encoder, or an ImageNet-trained EfficientNet-Lite
    encoder_training: str = "finetune"  # a pretrained encoder: finetune, frozen, or partial (frozen to 1/8)
    hints: bool = False            # a pretrained encoder's beta: colour hints beside L (model/hints.py)

    def __post_init__(self) -> None:
        for name, value, allowed in (("--architecture", self.architecture, ARCHITECTURES), ("--loss", self.loss, LOSSES),
                                     ("--augment", self.augment, AUGMENTS),
                                     ("--lr-schedule", self.lr_schedule, ("constant", "cosine")),
                                     ("--encoder-training", self.encoder_training, ENCODER_TRAINING)):
            if value not in allowed:
                raise RecipeError(f"{name} {value}: choose one of {', '.join(allowed)}")
        alpha, beta = self.architecture == "alpha", self.architecture == "beta"
        if alpha and (self.skips or self.decoder_width != 1):
            raise RecipeError(f"{'--skips' if self.skips else '--decoder-width'} is for beta and fusion; alpha is the "
                              "one-photo demonstration")
        if self.context and not beta:
            raise RecipeError("--context is for beta; fusion takes the whole photo from Inception's embedding, alpha "
                              "is the one-photo demonstration")
        if self.encoder != SCRATCH and not beta:
            raise RecipeError(f"--encoder {self.encoder} is for beta; fusion takes the whole photo from Inception's "
                              "embedding, alpha is the one-photo demonstration")
        if self.encoder != SCRATCH and (self.skips or self.context):
            raise RecipeError(f"--encoder {self.encoder} always joins its features at every scale; "
                              f"{'--skips' if self.skips else '--context'} is for beta's own encoder")
        if self.hints and self.encoder == SCRATCH:
            raise RecipeError("--hints is for beta with a pretrained encoder (--encoder efficientnet-lite0)")
        if not 1 <= self.decoder_width <= MAX_WIDTH:
            raise RecipeError(f"--decoder-width goes from 1 to {MAX_WIDTH}")
        if alpha and self.loss == "classification":
            raise RecipeError("--loss classification is for beta and fusion; alpha regresses one photo's ab")
        classification = self.loss == "classification"
        for name, value, ok, rule in (("--temperature", self.temperature, lambda v: 0 < v <= 1, "lies in (0, 1]"),
                                      ("--rebalance", self.rebalance, lambda v: 0 < v <= 1, "lies in (0, 1]"),
                                      ("--vividness", self.vividness, lambda v: v > 0, "is above 0")):
            if value is not None and not (classification and ok(value)):
                raise RecipeError(f"{name} goes with --loss classification and {rule}")
        if classification:  # the head's defaults, once the recipe is known to be one
            for name, default in (("rebalance", REBALANCE_MIX), ("temperature", DEFAULT_TEMPERATURE),
                                  ("vividness", 1.0)):
                if getattr(self, name) is None:
                    object.__setattr__(self, name, default)

    @property
    def head(self) -> str:
        return "classification" if self.loss == "classification" else "regression"

    def loss_description(self, bins: int) -> str:
        """The card's words for the loss; bins: the classification head's ab bins."""
        if self.loss == "classification":
            return (f"soft-encoded cross-entropy over {bins} ab bins, class-rebalanced (lambda {self.rebalance}); "
                    f"annealed mean T={self.temperature}")
        return f"{self.loss} on ab / 110"
