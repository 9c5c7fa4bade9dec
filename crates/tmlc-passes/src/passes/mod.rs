//! The passes, one file each.

pub mod cancel_transposes;
pub mod canonicalize;
pub mod collapse_reshapes;
pub mod dce;
pub mod equalize;
pub mod fold_batchnorm;
pub mod fold_bias_add;
pub mod fold_channel_scale;
pub mod fold_constants;
pub mod fold_pad;
pub mod fuse_activation;
pub mod fuse_qdq;
pub mod int4_weights;
pub mod prune;
pub mod prune_channels;
pub mod quantize;
pub mod quantize_weights;
pub mod recover;
pub mod remove_identity;
pub mod softmax_last_axis;
pub mod tabulate;
pub mod transpose_to_reshape;
mod weighted;
