//! The pass registry: what a pipeline text may name, with each pass's
//! description and options. Built-in passes are listed in
//! [`Registry::builtin`]; other toolchains add theirs with
//! [`Registry::register`].

use crate::{passes, Pass, PassError};
use std::fmt::Display;
use std::str::FromStr;

/// A registered pass: how to describe it and how to build it from options.
#[derive(Clone, Copy)]
pub struct PassInfo {
    /// Kebab-case name, as written in pipelines.
    pub name: &'static str,
    /// One line for `tmlc opt --list-passes`.
    pub description: &'static str,
    /// `(key, description)` of each option.
    pub options: &'static [(&'static str, &'static str)],
    /// Builds the pass from its options (absent ones take the pass's
    /// defaults); reads every key it knows with [`PassOptions::get`].
    pub build: fn(&mut PassOptions) -> Result<Box<dyn Pass>, PassError>,
}

impl PassInfo {
    /// The pass with every option at its default.
    pub fn default_pass(&self) -> Result<Box<dyn Pass>, PassError> {
        (self.build)(&mut PassOptions::new(self.name, Vec::new()))
    }
}

/// The options given to one pass in a pipeline text, read by its builder.
pub struct PassOptions {
    pass: String,
    items: Vec<(String, String)>,
}

impl PassOptions {
    /// Options `items` (`key`, `value`) for pass `pass`.
    pub fn new(pass: &str, items: Vec<(String, String)>) -> PassOptions {
        PassOptions {
            pass: pass.to_string(),
            items,
        }
    }

    /// Takes option `key`, parsed as `T`; `default` when absent.
    pub fn get<T: FromStr>(&mut self, key: &str, default: T) -> Result<T, PassError>
    where
        T::Err: Display,
    {
        let Some(i) = self.items.iter().position(|(k, _)| k == key) else {
            return Ok(default);
        };
        let (k, v) = self.items.remove(i);
        v.parse().map_err(|e: T::Err| PassError::BadOption {
            pass: self.pass.clone(),
            key: k,
            message: format!("invalid value `{v}`: {e}"),
        })
    }

    /// Takes option `key`, parsed by `parse` (whose error message names the
    /// value); `default` when absent.
    pub fn get_with<T>(
        &mut self,
        key: &str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, PassError> {
        let Some(i) = self.items.iter().position(|(k, _)| k == key) else {
            return Ok(default);
        };
        let (k, v) = self.items.remove(i);
        parse(&v).map_err(|message| PassError::BadOption {
            pass: self.pass.clone(),
            key: k,
            message,
        })
    }

    /// Fails on an option the builder did not take.
    fn finish(self, known: &[(&str, &str)]) -> Result<(), PassError> {
        match self.items.into_iter().next() {
            None => Ok(()),
            Some((k, _)) => Err(PassError::BadOption {
                pass: self.pass,
                key: k,
                message: if known.is_empty() {
                    "unknown option (the pass has none)".into()
                } else {
                    let keys: Vec<&str> = known.iter().map(|(k, _)| *k).collect();
                    format!("unknown option (known: {})", keys.join(", "))
                },
            }),
        }
    }
}

/// The passes a pipeline text may name.
#[derive(Clone)]
pub struct Registry {
    passes: Vec<PassInfo>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

impl Registry {
    /// Every built-in pass, in a fixed order.
    pub fn builtin() -> Registry {
        Registry {
            passes: vec![
                passes::cancel_transposes::INFO,
                passes::canonicalize::INFO,
                passes::collapse_reshapes::INFO,
                passes::dce::INFO,
                passes::equalize::INFO,
                passes::fold_batchnorm::INFO,
                passes::fold_bias_add::INFO,
                passes::fold_channel_scale::INFO,
                passes::fold_constants::INFO,
                passes::fold_pad::INFO,
                passes::fuse_activation::INFO,
                passes::fuse_qdq::INFO,
                passes::int4_weights::INFO,
                passes::prune::INFO,
                passes::prune_channels::INFO,
                passes::quantize::INFO,
                passes::quantize_weights::INFO,
                passes::recover::INFO,
                passes::remove_identity::INFO,
                passes::softmax_last_axis::INFO,
                passes::tabulate::INFO,
                passes::transpose_to_reshape::INFO,
            ],
        }
    }

    /// Adds a pass; an already registered name is an error.
    pub fn register(&mut self, info: PassInfo) -> Result<(), PassError> {
        if self.get(info.name).is_some() {
            return Err(PassError::BadPipeline {
                text: info.name.into(),
                message: "a pass of this name is already registered".into(),
            });
        }
        self.passes.push(info);
        Ok(())
    }

    /// The registered passes, in registration order.
    pub fn passes(&self) -> &[PassInfo] {
        &self.passes
    }

    /// The pass named `name`.
    pub fn get(&self, name: &str) -> Option<&PassInfo> {
        self.passes.iter().find(|p| p.name == name)
    }

    /// Builds pass `name` with options `items`.
    pub fn build(
        &self,
        name: &str,
        items: Vec<(String, String)>,
    ) -> Result<Box<dyn Pass>, PassError> {
        let info = self.get(name).ok_or_else(|| PassError::UnknownPass {
            name: name.to_string(),
            available: self
                .passes
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        let mut opts = PassOptions::new(name, items);
        let pass = (info.build)(&mut opts)?;
        opts.finish(info.options)?;
        Ok(pass)
    }
}
