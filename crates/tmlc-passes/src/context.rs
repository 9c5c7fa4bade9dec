//! The context a pipeline threads through its passes.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::time::Duration;
use tmlc_ir::Graph;

/// A message a pass reports without failing (e.g. a rewrite it skipped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The pass that reported it.
    pub pass: &'static str,
    /// The message (one line).
    pub message: String,
}

/// What one pass did.
#[derive(Clone, Debug)]
pub struct PassRun {
    /// Pass name.
    pub pass: &'static str,
    /// Whether it changed the graph.
    pub changed: bool,
    /// Wall time of the pass itself (not the verifier).
    pub time: Duration,
}

type Observer<'a> = Box<dyn FnMut(&str, &Graph) + 'a>;

/// Options, diagnostics, timing and shared data of a pipeline run.
pub struct PassContext<'a> {
    /// Verify the input and the graph after every pass (default: on in
    /// debug builds and tests, off in release builds).
    pub verify_each: bool,
    /// Diagnostics reported by the passes, in order.
    pub diagnostics: Vec<Diagnostic>,
    /// One entry per pass run, in order.
    pub runs: Vec<PassRun>,
    observer: Option<Observer<'a>>,
    data: HashMap<TypeId, Box<dyn Any>>,
}

impl Default for PassContext<'_> {
    fn default() -> Self {
        PassContext {
            verify_each: cfg!(debug_assertions),
            diagnostics: Vec::new(),
            runs: Vec::new(),
            observer: None,
            data: HashMap::new(),
        }
    }
}

impl<'a> PassContext<'a> {
    /// A context with verification after every pass on or off.
    pub fn new(verify_each: bool) -> Self {
        PassContext {
            verify_each,
            ..PassContext::default()
        }
    }

    /// Calls `f(pass name, graph)` after every pass (e.g. to print the IR).
    pub fn observe(&mut self, f: impl FnMut(&str, &Graph) + 'a) {
        self.observer = Some(Box::new(f));
    }

    pub(crate) fn after_pass(&mut self, pass: &str, g: &Graph) {
        if let Some(f) = &mut self.observer {
            f(pass, g);
        }
    }

    /// Reports a diagnostic from `pass`.
    pub fn report(&mut self, pass: &'static str, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            pass,
            message: message.into(),
        });
    }

    /// Stores shared data of type `T` (one value per type), returning the
    /// previous one.
    pub fn insert<T: Any>(&mut self, value: T) -> Option<T> {
        self.data
            .insert(TypeId::of::<T>(), Box::new(value))
            .and_then(|b| b.downcast().ok().map(|b| *b))
    }

    /// The shared data of type `T`, if any.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.data.get(&TypeId::of::<T>())?.downcast_ref()
    }

    /// Mutable access to the shared data of type `T`, if any.
    pub fn get_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.data.get_mut(&TypeId::of::<T>())?.downcast_mut()
    }
}
