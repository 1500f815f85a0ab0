"""GANModule: every adversarial experiment trains (fast_dev_run), each step changes only its
own network, the two stages and the D:G ratio, checkpoints hold both networks and the API
serves the generator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from semcolor.cli.train import build, check_heads_fit_data, train
from semcolor.lit.gan import GANModule
from tests.lit.helpers import compose_train

SCGAN_EXPERIMENTS = ("scgan", "scgan_no_attention", "scgan_no_gan", "scgan_lsgan", "scgan_l2")
SPYNCO_EXPERIMENTS = ("spyncogan", "spyncogan_l1_only", "spyncogan_contours")


def _photos(folder, n=8, seed=0, size=(40, 48)):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = np.zeros((*size, 3), np.uint8)
        img[..., 0] = rng.integers(40, 220)
        img[..., 1] = np.linspace(30, 200, size[1], dtype=np.uint8)[None]
        img[size[0] // 3 :, :, 2] = rng.integers(0, 255)
        Image.fromarray(img).save(folder / f"img{i}.png")
    return folder


def _common(tmp_path) -> list[str]:
    return [
        f"paths.output_dir={tmp_path}/run", f"paths.cache_dir={tmp_path}/cache",
        "trainer.accelerator=cpu", "trainer.enable_progress_bar=false", "logger=csv",
        "data.crop_size=32", "data.batch_size=2", "data.num_workers=0",
        "discriminator.base=8", "trainer.log_every_n_steps=1",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def photo_tree(tmp_path_factory):
    from semcolor.data.saliency import label_saliency

    root = tmp_path_factory.mktemp("gan_data")
    train = _photos(root / "train", 8)
    val = _photos(root / "val", 2, seed=1)
    label_saliency(train, root / "maps", progress=False)
    return {"train": train, "val": val, "maps": root / "maps"}


def scgan_overrides(tmp_path, tree, experiment="scgan") -> list[str]:
    return [f"+experiment={experiment}", "data=folder", f"data.root={tree['train']}",
            f"data.val_root={tree['val']}", f"data.saliency_dir={tree['maps']}",
            "model.decoder_channels=[16,8,8,8,8]", *_common(tmp_path)]  # fmt: skip


def spynco_overrides(tmp_path, tree, experiment="spyncogan") -> list[str]:
    return [f"+experiment={experiment}", f"data.gray_root={tree['train']}",
            f"data.val_root={tree['val']}", "model.width=8", *_common(tmp_path)]  # fmt: skip


@pytest.mark.parametrize("experiment", SCGAN_EXPERIMENTS + SPYNCO_EXPERIMENTS)
def test_fast_dev_run_of_every_adversarial_experiment(tmp_path, photo_tree, experiment):
    make = scgan_overrides if experiment.startswith("scgan") else spynco_overrides
    # pretrain 0: the one fast_dev_run batch takes the adversarial stage (where it has one)
    cfg = compose_train([*make(tmp_path, photo_tree, experiment), "+trainer.fast_dev_run=true",
                         "module.pretrain_steps=0"])  # fmt: skip
    trainer = train(cfg)
    module = trainer.lightning_module
    assert isinstance(module, GANModule)
    m = trainer.callback_metrics
    assert torch.isfinite(m["train/loss"])
    adversarial = experiment != "scgan_no_gan"
    assert float(m["train/adversarial"]) == float(adversarial)
    assert ("train/d_loss" in m) == adversarial
    assert module.g_steps == 1 and module.d_steps == int(adversarial)
    # fast_dev_run also runs one validation batch under the bench protocol
    assert torch.isfinite(m["val/reg_psnr"])
    terms = {k.split("/")[1] for k in m if k.startswith("train/")}
    if experiment.startswith("scgan"):
        assert "rec" in terms and ("att" in terms) == (experiment != "scgan_no_attention")
    else:
        assert "cons" in terms and ("contour" in terms) == (experiment == "spyncogan_contours")
        assert len(module.eval()(torch.rand(1, 1, 32, 32) * 100).rgb_pyramid) == (
            1 if experiment == "spyncogan_l1_only" else 3)  # fmt: skip
    if experiment == "scgan_lsgan":
        assert "train/gp" not in m
    if experiment == "scgan":
        assert "train/gp" in m


def _snapshot(net):
    return {k: v.detach().clone() for k, v in net.named_parameters()}


def _changed(before, net):
    return any(not torch.equal(before[k], v) for k, v in net.named_parameters())


class Probe(GANModule):
    """Records, around each step, which network's parameters it changed."""

    record: list

    def discriminator_step(self, batch, fake):
        g0, d0 = _snapshot(self.net), _snapshot(self.disc)
        terms = super().discriminator_step(batch, fake)
        self.record.append(("D", _changed(g0, self.net), _changed(d0, self.disc)))
        return terms

    def generator_step(self, batch, out, adversarial):
        g0, d0 = _snapshot(self.net), _snapshot(self.disc)
        grads0 = [None if p.grad is None else p.grad.clone() for p in self.disc.parameters()]
        terms = super().generator_step(batch, out, adversarial)
        grads1 = [p.grad for p in self.disc.parameters()]
        untouched = all((a is None and b is None) or (a is not None and b is not None
                        and torch.equal(a, b)) for a, b in zip(grads0, grads1, strict=True))
        self.record.append(("G", _changed(g0, self.net), _changed(d0, self.disc), adversarial,
                            untouched))  # fmt: skip
        return terms


def _probe_fit(tmp_path, overrides, steps):
    cfg = compose_train([*overrides, f"trainer.max_steps={steps}", "trainer.limit_val_batches=0"])
    dm, module, trainer = build(cfg)
    probe = Probe(net=module.net, loss=module.criterion, discriminator=module.disc,
                  optimizer=module.optimizer_factory, optimizer_d=module.optimizer_d_factory,
                  pretrain_steps=module.pretrain_steps, d_steps_per_g=module.d_steps_per_g,
                  run_config=module.run_config)  # fmt: skip
    probe.record = []
    trainer.fit(probe, datamodule=dm)
    return probe, trainer


def test_each_step_changes_only_its_own_network(tmp_path, photo_tree):
    probe, trainer = _probe_fit(
        tmp_path, [*scgan_overrides(tmp_path, photo_tree), "module.pretrain_steps=1",
                   "module.d_steps_per_g=2"], steps=5)  # fmt: skip
    # stage 1: one G step; stage 2, D:G = 2:1: D, D, G, then D (global_step counts all 5)
    kinds = [r[0] for r in probe.record]
    assert kinds == ["G", "D", "D", "G", "D"]
    assert trainer.global_step == 5 and probe.g_steps == 2 and probe.d_steps == 3
    for r in probe.record:
        if r[0] == "D":
            assert r[1:] == (False, True), "a D step must change D only"
        else:
            assert r[1] is True and r[2] is False, "a G step must change G only"
            assert r[4], "a G step left gradients in D"
    assert [r[3] for r in probe.record if r[0] == "G"] == [False, True]


def test_checkpoint_holds_both_networks_and_the_api_serves_the_generator(tmp_path, photo_tree):
    import semcolor

    cfg = compose_train([*spynco_overrides(tmp_path, photo_tree), "trainer.max_steps=4",
                         "trainer.limit_val_batches=0"])  # fmt: skip
    train(cfg)
    ckpt_path = tmp_path / "run" / "checkpoints" / "last.ckpt"
    ckpt = torch.load(ckpt_path, weights_only=True)
    keys = ckpt["state_dict"]
    assert any(k.startswith("disc.") for k in keys) and any(k.startswith("net.") for k in keys)
    assert len(ckpt["optimizer_states"]) == 2
    assert ckpt["semcolor"]["gan"] == {
        "g_steps": 2, "d_steps": 2, "gan_batches": 2, "discriminator": "PatchDiscriminator",
        "discriminator_kwargs": {"in_channels": 3, "base": 8, "n_layers": 3, "norm": "instance"},
    }  # fmt: skip
    model = semcolor.load_model(ckpt_path)
    assert type(model.net).__name__ == "PyramidColorizer" and model.methods == ("reg",)
    gray = np.full((30, 44), 120, np.uint8)
    out = semcolor.colorize(gray, model=model)  # method defaults to the model's own
    assert out.shape == (30, 44, 3) and out.dtype == np.uint8
    # resume continues both networks' step counts
    cfg2 = compose_train([*spynco_overrides(tmp_path, photo_tree), "trainer.max_steps=6",
                          "trainer.limit_val_batches=0", f"ckpt_path={ckpt_path}"])  # fmt: skip
    m = train(cfg2).lightning_module
    assert (m.g_steps, m.d_steps) == (3, 3)


def test_the_generator_sees_only_gray_domain_input(tmp_path, photo_tree):
    cfg = compose_train([*spynco_overrides(tmp_path, photo_tree), "trainer.max_steps=2",
                         "trainer.limit_val_batches=0"])  # fmt: skip
    dm, module, trainer = build(cfg)
    seen = []
    module.net.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    batches = []

    orig = module.training_step

    def step(batch, batch_idx):
        batches.append({k: v.clone() for k, v in batch.items()})
        return orig(batch, batch_idx)

    module.training_step = step
    trainer.fit(module, datamodule=dm)
    assert batches and seen
    for b in batches:
        assert "ab" not in b and set(b) == {"L", "colorful", "index", "real_rgb", "real_index"}
    from semcolor.color import normalize_l

    for x, b in zip(seen, batches, strict=False):
        assert x.shape[1] == 1 and torch.equal(x, normalize_l(b["L"]))


def test_d_is_never_shown_a_colourless_photo_as_real(tmp_path):
    # one batch of a colour photo and a gray scan: SCGAN's D sees the gray scan's fake (its
    # L, generated ab) but never its true image as real, nor in the penalty's interpolates
    folder = _photos(tmp_path / "train", 1)
    Image.fromarray(np.full((40, 48, 3), 120, np.uint8)).save(folder / "scan.png")
    overrides = [o for o in scgan_overrides(tmp_path, {"train": folder, "val": folder,
                 "maps": None}, "scgan_no_attention") if not o.startswith("data.saliency_dir")]
    cfg = compose_train([*overrides, "trainer.max_steps=2", "trainer.limit_val_batches=0",
                         "module.pretrain_steps=0"])  # fmt: skip
    dm, module, trainer = build(cfg)
    seen, batches = [], []
    module.disc.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    orig = module.training_step

    def step(batch, batch_idx):
        batches.append({k: v.clone() for k, v in batch.items()})
        return orig(batch, batch_idx)

    module.training_step = step
    trainer.fit(module, datamodule=dm)
    (batch,) = batches
    assert sorted(batch["colorful"].tolist()) == [False, True]
    real = module.criterion.real_for_d(batch)
    rows = torch.cat(seen)
    gray, colour = int(batch["colorful"].int().argmin()), int(batch["colorful"].int().argmax())
    assert not any(torch.equal(r, real[gray]) for r in rows)
    assert any(torch.equal(r, real[colour]) for r in rows)
    # rows with the sample's L: its fake in the D and the G step; for the colourful one also
    # its real image and its interpolate (whose L is the real one's, passed as it is)
    assert sum(torch.equal(r[0], real[gray, 0]) for r in rows) == 2
    assert sum(torch.equal(r[0], real[colour, 0]) for r in rows) == 4


def test_sal_head_without_maps_fails_before_any_scan(tmp_path, photo_tree):
    cfg = compose_train([o for o in scgan_overrides(tmp_path, photo_tree)
                         if not o.startswith("data.saliency_dir")])  # fmt: skip
    with pytest.raises(ValueError, match="semcolor-label-saliency.*scgan_no_attention"):
        check_heads_fit_data(cfg)


def test_bad_options_are_named(tmp_path, photo_tree):
    from semcolor.cli.train import module_class

    cfg = compose_train([*scgan_overrides(tmp_path, photo_tree), "module.d_steps_per_g=0"])
    with pytest.raises(ValueError, match="d_steps_per_g"):
        build(cfg)
    cfg = compose_train([*scgan_overrides(tmp_path, photo_tree), "trainer.gradient_clip_val=1"])
    with pytest.raises(ValueError, match="module.grad_clip=1"):
        build(cfg)
    cfg = compose_train([*scgan_overrides(tmp_path, photo_tree), "module._target_=x.Y"])
    with pytest.raises(ValueError, match="semcolor.lit.gan.GANModule"):
        module_class(cfg)
