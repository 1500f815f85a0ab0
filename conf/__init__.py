"""semcolor's Hydra configs (installed as ``semcolor.conf``) and the resolvers they use."""

from omegaconf import OmegaConf


def _holdout(val_root, fraction) -> float:
    """data=folder: the held-out fraction of data.root (0 when a validation folder is given)."""
    if val_root:
        return 0.0
    fraction = float(fraction)
    if not 0.0 < fraction < 1.0:
        raise ValueError(
            f"data.val_fraction={fraction} with no data.val_root would validate on the training "
            "photos; give data.val_fraction in (0, 1) or data.val_root=FOLDER"
        )
    return fraction


def _pick(flag, if_true, if_false):
    """``${semcolor.pick:${data.aux_colour},0.15,0.0}``: one switch setting several values."""
    if not isinstance(flag, bool):
        raise ValueError(f"semcolor.pick needs true or false, got {flag!r}")
    return if_true if flag else if_false


# data=folder: a separate validation folder, or a deterministic held-out part of the photos.
OmegaConf.register_new_resolver("semcolor.holdout", _holdout, replace=True)
OmegaConf.register_new_resolver(
    "semcolor.val_root", lambda val_root, root: val_root or root, replace=True
)
OmegaConf.register_new_resolver("semcolor.pick", _pick, replace=True)
