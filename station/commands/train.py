"""`station train {defect,conformity} --data DIR --out DIR`: train a model from scratch and export it.

Needs the `train` extra (torch); models.training is imported inside the handler so the
station itself starts without torch.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import shutil
import sys
from pathlib import Path

from station.commands._args import number, whole
from station.config import Config
from station.memory import bound_heap

logger = logging.getLogger(__name__)

# The station's command line fixes glibc's mmap threshold at 1 MiB so that a long-running station
# gives freed frames back (station/memory.py). A training step frees and allocates the same
# activation buffers again, and with that threshold each went back to the kernel and came back as
# fresh zeroed pages: 40 conformity steps at 112 px took 1,060,000 page faults and spent 17 % of
# their CPU time in the kernel. With 32 MiB they take 3,500 and a step costs 23 % less (at 160 px
# some activations are larger: 256 MiB removes their faults too, but saved only 2-7 % of a step).
TRAINING_MMAP_THRESHOLD = 32 << 20
TRAINING_TRIM_THRESHOLD = 128 << 20
# Options only one recipe reads (their defaults are None, so an option given is told from one left out).
OPTIONS_OF = {
    "defect": ("holdout", "synthetic", "colour", "crop", "masks", "views"),
    "conformity": ("low_size", "min_crop", "cutmix", "white_balance", "erase", "mixstyle", "trivial",
                   "coarse", "loss", "flip", "precision", "weight_decay", "ema"),
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "train",
        help="train a defect or conformity model, export ONNX + manifest (needs the train extra)",
        description="Train from scratch on DIR (defect: DIR/good/* + DIR/<class>/* with optional "
        "<stem>_mask.png, or the magnetic-tile MT_* layout; conformity: DIR/<sku>/* or the grocery "
        "layout with train.txt). A held-back split (defect) or val.txt (grocery) is never trained on; "
        "its metrics are written into the manifest. The run trains in OUT.training (metrics.csv and "
        "curves.png grow there epoch by epoch) and replaces OUT only when its validation figure is at "
        "least chance and at least that of the model OUT already holds, scored on the same images; "
        "a refused run is kept in OUT.refused and the command exits with 3.",
    )
    parser.add_argument("task", choices=["defect", "conformity"])
    parser.add_argument("--data", type=Path, required=True, help="training data folder")
    parser.add_argument("--out", type=Path, required=True,
                        help="model folder to write (model.onnx + manifest)")
    parser.add_argument("--epochs", type=whole(1, example="200"), default=None,
                        help="training epochs (default: the recipe's)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed repeats the run")
    parser.add_argument("--size", type=whole(32, example="160"), default=None,
                        help="model input size in pixels (square; defect: a multiple of 32, at least 64)")
    parser.add_argument("--name", default=None, help="model name in the manifest (default: the task)")
    parser.add_argument("--holdout", type=number(0, 1, low_open=True, high_open=True, example="0.3"),
                        default=None,
                        help="defect: fraction of the data held back for evaluation (default 0.3)")
    parser.add_argument("--synthetic", choices=["auto", "on", "off"], default=None,
                        help="defect: paste synthetic defects on good images (auto: when defects are scarce)")
    parser.add_argument("--colour", choices=["auto", "gray", "rgb"], default=None,
                        help="defect: model input colour (auto, the default: grey when every image is grey)")
    parser.add_argument("--threads", type=whole(1, 2), default=2,
                        help="torch threads, at most 2 (1 is faster when other work shares the CPU)")
    parser.add_argument("--crop", type=whole(0, example="128"), default=None,
                        help="defect: patch size of the patch epochs, a multiple of 32 of at least 64 "
                             "(0 = whole images throughout)")
    parser.add_argument("--width", type=whole(4, example="32"), default=None,
                        help="network width (channels of the first layer)")
    parser.add_argument("--masks", choices=["on", "off"], default=None,
                        help="defect: 'off' trains on image labels only (good / damaged), ignoring any "
                             "pixel masks, on whole images (--crop does not apply)")
    parser.add_argument("--low-size", type=whole(0, example="112"), default=None,
                        help="conformity: input size of the early epochs (0 = --size throughout)")
    parser.add_argument("--min-crop", type=float, default=None,
                        help="conformity: smallest random-crop area fraction (default 0.15)")
    parser.add_argument("--views", type=int, choices=[0, 1, 2, 4, 8], default=None,
                        help="defect: flips/rotations averaged in the exported graph, each costing one "
                        "inference (0, the default = chosen on validation; 1 = none, the fastest)")
    parser.add_argument("--cutmix", type=number(0, 1, example="0.5"), default=None,
                        help="conformity: share of batches trained with CutMix (default 0 = none)")
    parser.add_argument("--white-balance", type=float, default=None,
                        help="conformity: per-channel gain jitter, e.g. 0.08 = R, G, B each x 0.92-1.08 "
                             "(light of another colour; default 0 = none)")
    parser.add_argument("--erase", type=float, default=None,
                        help="conformity: share of images with one random box blanked (random erasing; "
                             "default 0 = none)")
    parser.add_argument("--mixstyle", type=float, default=None,
                        help="conformity: share of batches whose early feature maps take a mix of their own "
                             "and another image's channel statistics (MixStyle; default 0 = none)")
    parser.add_argument("--trivial", type=number(0, 1, example="0.5"), default=None,
                        help="conformity: share of images given one TrivialAugment operation (shear, "
                             "translation, sharpness, posterise, solarise, equalise...; default 0 = none)")
    parser.add_argument("--coarse", type=number(0, 10, example="0.5"), default=None,
                        help="conformity: weight of a second loss on the product's group (grocery: the "
                             "folder above the product's, e.g. Apple; default 0 = none)")
    parser.add_argument("--loss", choices=["cosface", "softmax"], default=None,
                        help="conformity: a plain classifier on the embedding (default) or a margin loss "
                             "on normalised embeddings")
    parser.add_argument("--flip", choices=["auto", "on", "off"], default=None,
                        help="conformity: average the embedding with the mirror image's, a second pass per "
                        "item (auto: only when it gains a point of top-1 on validation)")
    parser.add_argument("--precision", choices=["bf16", "fp32"], default=None,
                        help="conformity: fp32 (default) or bf16, which trains the network under bfloat16 "
                        "autocast at about 40 %% less cost on a CPU with AVX-512 BF16; its accuracy cost on "
                        "grocery is not settled")
    parser.add_argument("--weight-decay", type=number(0, 1, example="0.05"), default=None,
                        help="conformity: AdamW's decoupled weight decay (default: the recipe's)")
    parser.add_argument("--ema", type=number(0, 1, high_open=True, example="0.998"), default=None,
                        help="conformity: per-step decay of the weight average that is validated and "
                             "exported, e.g. 0.998; 0 = the last step's weights (default: the recipe's)")
    parser.add_argument("--no-eval", action="store_true",
                        help="skip scoring the held-back split after export")
    parser.add_argument("--force", action="store_true",
                        help="export even a model below chance or below the model in --out (recorded as "
                        "\"forced\" in the manifest)")
    parser.add_argument("--json", action="store_true", help="print the manifest as one JSON line")
    parser.set_defaults(handler=run, log_to_file=True)


def other_task_options(args: argparse.Namespace) -> str | None:
    """What `station train TASK` says when given the other task's options: the recipe would ignore
    them, and a run trained without what was asked for is found out only in its manifest."""
    other = "conformity" if args.task == "defect" else "defect"
    given = [f"--{name.replace('_', '-')}" for name in OPTIONS_OF[other] if getattr(args, name) is not None]
    if not given:
        return None
    return (f"{', '.join(given)} {'is an option' if len(given) == 1 else 'are options'} of `station train "
            f"{other}`, not of `station train {args.task}`: leave {'it' if len(given) == 1 else 'them'} out "
            "(station train --help lists which task each option is for)")


def check_held_back(task: str, data: Path, holdout: float | None) -> None:
    """Decode every held-back image now. The training never reads them; its closing evaluation does,
    and one broken file there threw a finished run away. Raises FileNotFoundError naming the file."""
    from models.datasets import Split, conformity_samples, defect_samples
    from models.training.common import read_image

    if task == "defect":
        from models.training.defect import DefectRecipe

        samples = defect_samples(data, Split.HOLDOUT, DefectRecipe.holdout if holdout is None else holdout)
    else:
        samples = conformity_samples(data, Split.HOLDOUT)
    for sample in samples:
        read_image(sample.path)


def run(args: argparse.Namespace, config: Config) -> int:
    if importlib.util.find_spec("torch") is None:
        print("station train: torch is not installed — install the train extra: pip install -e '.[train]'",
              file=sys.stderr)
        return 2
    from models.datasets import layout_problem
    from models.training import acceptance
    from models.training.evaluate import evaluate_model
    from station.commands._outputs import check_folder

    # Before the training, not after it: the other task's data would train a model of the wrong
    # labels (good/ and scratch/ as products) and be refused only by the held-back evaluation.
    problem = other_task_options(args) or layout_problem(args.data, args.task)
    if problem:
        print(f"station train: {problem}", file=sys.stderr)
        return 2
    out: Path = args.out
    # Before the training, not after it: the run trains beside OUT (OUT.training) and moves into OUT.
    fix = "choose an --out folder you may write (the run also writes beside it: OUT.training)"
    check_folder(out, fix=fix)
    check_folder(acceptance.staging_dir(out).parent, fix=fix)
    if not args.no_eval:
        try:
            check_held_back(args.task, args.data, args.holdout)
        except (FileNotFoundError, ValueError) as exc:
            print(f"station train: {exc}", file=sys.stderr)
            return 2
    bound_heap(TRAINING_MMAP_THRESHOLD, TRAINING_TRIM_THRESHOLD)
    staging = acceptance.staging_dir(out)
    try:
        staging = acceptance.fresh_staging(out)
        logger.info("training into %s; %s is replaced only when the new model is accepted", staging, out)
        if args.task == "defect":
            from models.training.defect import DefectRecipe, train_defect

            recipe = DefectRecipe(seed=args.seed, name=args.name or "defect",
                                  **({"holdout": args.holdout} if args.holdout is not None else {}),
                                  **({"synthetic": args.synthetic} if args.synthetic else {}),
                                  **({"colour": args.colour} if args.colour else {}),
                                  **({"tta": args.views} if args.views is not None else {}),
                                  **({"masks": args.masks} if args.masks else {}),
                                  **({"epochs": args.epochs} if args.epochs else {}),
                                  **({"size": args.size} if args.size else {}),
                                  **({"crop": args.crop} if args.crop is not None else {}),
                                  **({"width": args.width} if args.width else {}))
            manifest = train_defect(args.data, staging, recipe, args.threads, replaces=out)
        else:
            from models.training.conformity import ConformityRecipe, train_conformity

            flip = {"auto": None, "on": True, "off": False}[args.flip or "auto"]
            crecipe = ConformityRecipe(seed=args.seed, name=args.name or "conformity", tta_flip=flip,
                                       **({"epochs": args.epochs} if args.epochs else {}),
                                       **({"size": args.size} if args.size else {}),
                                       **({"width": args.width} if args.width else {}),
                                       **({"low_size": args.low_size} if args.low_size is not None else {}),
                                       **({"min_crop": args.min_crop} if args.min_crop is not None else {}),
                                       **({"cutmix": args.cutmix} if args.cutmix is not None else {}),
                                       **({"white_balance": args.white_balance}
                                          if args.white_balance is not None else {}),
                                       **({"erase": args.erase} if args.erase is not None else {}),
                                       **({"mixstyle": args.mixstyle} if args.mixstyle is not None else {}),
                                       **({"trivial": args.trivial} if args.trivial is not None else {}),
                                       **({"coarse": args.coarse} if args.coarse is not None else {}),
                                       **({"loss": args.loss} if args.loss else {}),
                                       **({"precision": args.precision} if args.precision else {}),
                                       **({"weight_decay": args.weight_decay}
                                          if args.weight_decay is not None else {}),
                                       **({"ema": args.ema} if args.ema is not None else {}))
            manifest = train_conformity(args.data, staging, crecipe, args.threads, replaces=out)
        judgement = acceptance.judge(manifest)
        if not judgement.accepted and not args.force:
            refused = acceptance.set_aside(staging, out)
            print(f"station train: {acceptance.refusal_message(judgement, manifest, out, refused)}",
                  file=sys.stderr)
            return 3
        if not judgement.accepted:
            forced = acceptance.record_forced(staging, judgement)
            print(f"station train: exported because of --force although {forced['reason']}", file=sys.stderr)
        elif judgement.unmeasured:
            print(f"station train: warning — {acceptance.unmeasured_message(judgement, manifest)}",
                  file=sys.stderr)
        if not args.no_eval:
            metrics = evaluate_model(staging, args.data, "holdout", write=True)
            logger.info("held-back metrics: %s", json.dumps(metrics.get("summary", {})))
        acceptance.install(staging, out)
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except KeyboardInterrupt:
        csv_path = staging / "metrics.csv"
        kept = f"; the epochs done so far are in {csv_path}" if csv_path.is_file() else ""
        print(f"station train: stopped — {out} is unchanged{kept}", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError) as exc:
        if (staging / "model.onnx").is_file():
            print(f"station train: {exc} — {out} is unchanged; the trained model is in {staging}",
                  file=sys.stderr)
        else:
            shutil.rmtree(staging, ignore_errors=True)
            print(f"station train: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(manifest))
    else:
        print(f"model written to {args.out} (sha256 {manifest['sha256'][:12]}…)")
        print(json.dumps(manifest.get("metrics", {}), indent=2))
    return 0
