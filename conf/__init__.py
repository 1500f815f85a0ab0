"""semcolor's Hydra configs (installed as ``semcolor.conf``) and the resolvers they use."""

from omegaconf import OmegaConf

# data=folder: a separate validation folder, or a deterministic held-out part of the photos.
OmegaConf.register_new_resolver(
    "semcolor.holdout", lambda val_root, fraction: 0.0 if val_root else float(fraction),
    replace=True,
)  # fmt: skip
OmegaConf.register_new_resolver(
    "semcolor.val_root", lambda val_root, root: val_root or root, replace=True
)
